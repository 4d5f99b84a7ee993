import type { Request, Response } from 'express';
import { withIdempotency, type IdempotencyRepo } from '../domain/shared/idempotency';
import { principalOf } from './middleware/auth';

/** Answers a creating POST under its Idempotency-Key (when sent): a replay says so in a header. */
export async function respondIdempotently(
  repo: IdempotencyRepo,
  req: Request,
  res: Response,
  path: string,
  run: () => Promise<{ status: number; body: unknown }>,
): Promise<void> {
  const answer = await withIdempotency(
    repo,
    { workspaceId: principalOf(res).workspaceId, key: req.get('idempotency-key'), method: 'POST', path, body: req.body },
    run,
  );
  if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.status(answer.status).json(answer.body);
}
