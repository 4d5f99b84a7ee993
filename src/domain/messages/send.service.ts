import { GraphApiError } from '../whatsapp/graph-errors';
import type { Logger } from '../../lib/logger';
import type { TenancyService } from '../tenancy/tenancy.service';
import type { SendRepo } from './send.port';

/**
 * One outbound message to Meta, exactly once as far as it can be known:
 * - the row moves queued -> sending -> sent | failed around the Graph call;
 * - the wamid Meta returns is remembered outside Postgres (in the job) before it is recorded, so
 *   a database hiccup after a successful call is finished on retry without a second call;
 * - a row found in `sending` with no remembered wamid means the previous attempt died between
 *   the call and its answer; a call that timed out or was reset after the request left is the
 *   same case. Policy: at most once. It is marked failed ("unknown_outcome") and never sent
 *   again; the message.failed event lets the integrator decide. Only errors that certainly
 *   happened before the request reached Meta (connection refused, DNS) are retried.
 */
export type SendOutcome =
  | { outcome: 'sent'; wamid: string }
  | { outcome: 'failed'; code: number | null }
  | { outcome: 'cancelled' | 'done' | 'missing' }
  /** Meta's pair rate limit (131056): send this recipient's message later, after `delayMs`. */
  | { outcome: 'pair_rate_limited'; delayMs: number };

export class RetryableSendError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableSendError';
  }
}

export const UNKNOWN_OUTCOME = {
  code: null,
  title: 'unknown_outcome',
  details: 'The gateway stopped while sending this message; it may or may not have reached WhatsApp. It is not retried, so that it is never sent twice.',
};

export interface SendService {
  send(
    messageId: string,
    job: {
      /** The job's logger (its ids and correlation id bound); the service's otherwise. */
      logger?: Logger;
      rememberedWamid?: string;
      remember(wamid: string): Promise<void>;
      /** Awaited right before the Graph call (the number's rate guard). */
      beforeCall?: () => Promise<void>;
    },
  ): Promise<SendOutcome>;
}

export function createSendService(deps: {
  repo: SendRepo;
  graph: { sendMessage(token: string, phoneNumberId: string, body: Record<string, unknown>): Promise<{ wamid: string }> };
  /**
   * Test messages (test keys, sandbox numbers) go here and never reach Meta: the Graph client of
   * the built-in Cloud API simulator, which answers (and fails) like Meta and sends statuses back.
   */
  sandbox?: { sendMessage(token: string, phoneNumberId: string, body: Record<string, unknown>): Promise<{ wamid: string }> };
  tenancy: Pick<TenancyService, 'credentials'>;
  logger: Logger;
}): SendService {
  // Access tokens by number, decrypted at most every 30 s (a rotated token is used within 30 s).
  const tokens = new Map<string, { token: string; at: number }>();
  async function token(numberId: string, workspaceId: string): Promise<string> {
    const cached = tokens.get(numberId);
    if (cached && Date.now() - cached.at < 30_000) return cached.token;
    const { accessToken } = await deps.tenancy.credentials({ id: numberId, workspaceId });
    tokens.set(numberId, { token: accessToken, at: Date.now() });
    return accessToken;
  }
  return {
    async send(messageId, job) {
      const logger = job.logger ?? deps.logger;
      const claim = await deps.repo.claim(messageId);
      if (claim.outcome === 'missing' || claim.outcome === 'cancelled') return { outcome: claim.outcome };
      if (claim.outcome === 'done') return { outcome: 'done' };
      if (claim.outcome === 'unknown') {
        if (job.rememberedWamid) {
          const { pendingStatuses } = await deps.repo.markSent(claim.row, job.rememberedWamid);
          if (pendingStatuses) await deps.repo.applyPendingStatuses(claim.row.phone_number_id, job.rememberedWamid);
          return { outcome: 'sent', wamid: job.rememberedWamid };
        }
        logger.warn({ message_id: messageId }, 'send outcome unknown after a crash: marked failed, not resent');
        await deps.repo.markFailed(messageId, UNKNOWN_OUTCOME, false);
        return { outcome: 'failed', code: null };
      }
      const row = claim.row;
      let accessToken: string;
      try {
        accessToken = await token(row.phone_number_id, row.workspace_id);
        if (job.beforeCall && !row.test) await job.beforeCall();
      } catch (e) {
        // Nothing has left the gateway yet (the database or Redis is in trouble): undo the claim
        // so that the job's retry sends the message, rather than the unknown-outcome policy
        // failing one that certainly never reached Meta.
        await deps.repo.requeue(messageId).catch(() => undefined);
        throw e;
      }
      let wamid: string;
      try {
        const target = row.test ? deps.sandbox : deps.graph;
        // Never fall back to Meta for a test message.
        if (!target) throw new Error('test message but no Cloud API simulator in this process');
        wamid = (await target.sendMessage(accessToken, row.meta_phone_number_id, row.graph_body)).wamid;
      } catch (e) {
        if (!(e instanceof GraphApiError)) throw e;
        if (e.outcomeUnknown) {
          // A timeout or reset after the request left: Meta may have sent it. Same policy as a
          // crash in the middle: at most once.
          logger.warn({ message_id: messageId, err: { message: e.message } }, 'send outcome unknown (no answer from Meta): marked failed, not resent');
          await deps.repo.markFailed(messageId, { ...UNKNOWN_OUTCOME, details: `${UNKNOWN_OUTCOME.details} (${e.message})` }, false);
          return { outcome: 'failed', code: null };
        }
        if (e.errorClass === 'permanent') {
          await deps.repo.markFailed(messageId, { code: e.code ?? null, title: e.message, details: e.details ?? null }, e.code === 131047);
          return { outcome: 'failed', code: e.code ?? null };
        }
        await deps.repo.requeue(messageId);
        if (e.errorClass === 'pair_rate_limited') {
          // Meta: wait 4^n seconds before the next message to this user (n = 0, 1, 2 ...).
          return { outcome: 'pair_rate_limited', delayMs: 4 ** Math.min(row.send_attempts - 1, 6) * 1000 };
        }
        throw new RetryableSendError(e.message, { cause: e });
      }
      // The wamid is kept in the job first, so that a database failure below is finished by the
      // retry without a second call. If it is Redis that failed, the send is still recorded.
      await job.remember(wamid).catch((e: Error) =>
        logger.warn({ message_id: messageId, err: { message: e.message } }, 'could not keep the wamid in the job; recording the send anyway'),
      );
      const { pendingStatuses } = await deps.repo.markSent(row, wamid);
      if (pendingStatuses) await deps.repo.applyPendingStatuses(row.phone_number_id, wamid);
      return { outcome: 'sent', wamid };
    },
  };
}
