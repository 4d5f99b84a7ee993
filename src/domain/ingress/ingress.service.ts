import { timingSafeEqual, createHash } from 'node:crypto';
import { AppError, errors } from '../../lib/errors';
import { maskPhone, type Logger } from '../../lib/logger';
import type { TenancyService } from '../tenancy/tenancy.service';
import type { DispatchItem, IngressRepo, MediaItem, PersistResult } from './ingress.port';
import { createGroupCommit } from './group-commit';
import { planIngress, type IngressPlan, type VerifiedNumber } from './plan';
import { candidateIds, matchSignature } from './signature';
import { envelopeSchema } from './webhook.schema';

/**
 * The Meta webhook receiver. Its promise to Meta: a 200 means the delivery is durable in
 * Postgres and its follow-up jobs are in Redis; anything else is a 4xx (never worth retrying) or
 * a 503 (retry later). Retries are harmless: messages are unique per (number, wamid).
 */
export interface Schedulers {
  agent(items: DispatchItem[]): Promise<void>;
  media(items: MediaItem[]): Promise<void>;
  receipts(items: { workspaceId: string; phoneNumberId: string; wamid: string }[]): Promise<void>;
}

export type ReadReceiptPolicy = 'off' | 'on_receipt' | 'on_answer';

export interface IngressResult {
  outcome: 'stored' | 'ignored';
  stored: number;
  duplicates: number;
  statuses: number;
}

export interface IngressService {
  /** `correlationId` (the request's id) goes on its log lines and on the agent jobs it queues. */
  handle(raw: Buffer, signature: string | undefined, ctx?: { correlationId?: string }): Promise<IngressResult>;
  /** Meta's GET handshake: true when the token is one of our numbers' verify tokens. */
  verifyToken(mode: unknown, token: unknown): Promise<boolean>;
  /** Enqueues what a crash or a Redis outage left undone (the sweeper calls it). */
  redrive(): Promise<{ agent: number; media: number }>;
}

type DirectoryNumber = VerifiedNumber & { appSecret: string };
interface Directory {
  at: number;
  byPhone: Map<string, DirectoryNumber>;
  byWaba: Map<string, DirectoryNumber[]>;
}

const REFRESH_MS = 10_000;
const MISS_REFRESH_MS = 1_000;

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function createIngressService(deps: {
  repo: IngressRepo;
  tenancy: Pick<TenancyService, 'ingressDirectory' | 'verifyTokens'>;
  schedulers: Schedulers;
  logger: Logger;
  readReceipts: ReadReceiptPolicy;
  /** Groups of deliveries handed to the repo at once (see commitConcurrency in composition.ts). */
  commitConcurrency?: number;
  now?: () => number;
}): IngressService {
  const now = deps.now ?? Date.now;
  const { logger } = deps;
  // Every number (with its app secret) in memory: verifying a delivery costs no query, and a
  // flood of forged deliveries naming random ids cannot turn into database load. The directory
  // is reloaded every 10 s, and on a miss at most once a second (a new number is seen within 1 s).
  let directory: Directory = { at: -Infinity, byPhone: new Map(), byWaba: new Map() };
  let loading: Promise<Directory> | undefined;
  const loggedUnknown = new Set<string>();
  // Concurrent deliveries are stored together, one transaction per group (see group-commit.ts).
  // The group's agent jobs are enqueued right after its commit (one addBulk): a job never exists
  // for a message that does not, and a stored row needs no second write to say it has its job.
  const persist = createGroupCommit(
    (plans: IngressPlan[]) => deps.repo.persist(plans, { dispatch: (items) => deps.schedulers.agent(items) }),
    { maxBatch: 256, concurrency: deps.commitConcurrency ?? 1 },
  );

  function reload(): Promise<Directory> {
    loading ??= (async () => {
      try {
        const at = now();
        const next: Directory = { at, byPhone: new Map(), byWaba: new Map() };
        for (const n of await deps.tenancy.ingressDirectory()) {
          const v = { id: n.id, workspaceId: n.workspaceId, phoneNumberId: n.phoneNumberId, wabaId: n.wabaId, appSecret: n.appSecret };
          next.byPhone.set(n.phoneNumberId, v);
          next.byWaba.set(n.wabaId, [...(next.byWaba.get(n.wabaId) ?? []), v]);
        }
        directory = next;
        return next;
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  }

  /** `fresh`: reload first unless the directory is under a second old (after a miss). */
  async function lookup(phoneNumberIds: string[], wabaIds: string[], fresh: boolean) {
    let d = directory;
    if (d.at + (fresh ? MISS_REFRESH_MS : REFRESH_MS) < now()) d = await reload();
    const phones = phoneNumberIds.flatMap((p) => {
      const n = d.byPhone.get(p);
      return n ? [n] : [];
    });
    const wabas = wabaIds.flatMap((w) => d.byWaba.get(w) ?? []);
    return { phones, wabas };
  }

  function logUnknownOnce(ids: string[], reason: string, log: Logger = logger) {
    const fresh = ids.filter((id) => !loggedUnknown.has(id));
    if (fresh.length === 0) return;
    if (loggedUnknown.size > 1_000) loggedUnknown.clear();
    for (const id of fresh) loggedUnknown.add(id);
    log.warn({ ids: fresh }, reason);
  }

  const badPayload = (message: string) =>
    new AppError({ type: 'invalid_request_error', code: 'invalid_webhook', status: 400, message });

  async function schedule(result: PersistResult, receipts: { workspaceId: string; phoneNumberId: string; wamid: string }[]) {
    try {
      if (result.dispatchError !== undefined) throw result.dispatchError;
      await deps.schedulers.media(result.media);
      if (receipts.length) await deps.schedulers.receipts(receipts);
    } catch (e) {
      // The rows are committed with dispatch_pending; Meta's retry or the sweeper enqueues them.
      throw errors.unavailable('The delivery is stored but its jobs could not be queued; retry later.', e);
    }
  }

  return {
    async handle(raw, signature, ctx = {}) {
      // Every line about this delivery carries its correlation id. The child logger is made for
      // the first line written: pino serializes a child's bindings when it is created, work that
      // most deliveries (nothing to say below LOG_LEVEL=info) would do for nothing.
      let child: Logger | undefined;
      const log = (): Logger => (child ??= ctx.correlationId ? deps.logger.child({ correlation_id: ctx.correlationId }) : deps.logger);
      if (raw.length === 0) throw badPayload('The webhook body is empty.');
      const ids = candidateIds(raw);
      // A delivery no number of ours could have signed may be for a number added in the last
      // seconds (or an app secret just changed): look again, at most once a second.
      const verify = async (fresh: boolean) => {
        const seen = directory;
        let candidates;
        try {
          candidates = await lookup(ids.phoneNumberIds, ids.wabaIds, fresh);
        } catch (e) {
          throw errors.unavailable('The database is unavailable; retry later.', e);
        }
        if (fresh && directory === seen) return undefined;
        const secrets = [...new Map([...candidates.phones, ...candidates.wabas].map((n) => [n.appSecret, n])).values()];
        return { candidates, secrets, matched: matchSignature(raw, signature, secrets) };
      };
      let { candidates, secrets, matched } = (await verify(false)) as NonNullable<Awaited<ReturnType<typeof verify>>>;
      if (!matched) ({ candidates, secrets, matched } = (await verify(true)) ?? { candidates, secrets, matched });
      if (secrets.length === 0) {
        try {
          JSON.parse(raw.toString('utf8'));
        } catch {
          throw badPayload('The webhook body is not valid JSON.');
        }
        logUnknownOnce([...ids.phoneNumberIds, ...ids.wabaIds].slice(0, 20), 'webhook for a number we do not know: ignored', log());
        return { outcome: 'ignored', stored: 0, duplicates: 0, statuses: 0 };
      }
      if (!matched) {
        throw new AppError({
          type: 'authentication_error',
          code: 'invalid_signature',
          status: 401,
          message: 'X-Hub-Signature-256 is missing or does not match the app secret.',
        });
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw badPayload('The webhook body is not valid JSON.');
      }
      const envelope = envelopeSchema.safeParse(json);
      if (!envelope.success) {
        const issue = envelope.error.issues[0];
        throw badPayload(`Not a WhatsApp webhook: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim());
      }
      // Only numbers of the app whose secret signed this delivery are served from it.
      const signedBy = (n: { appSecret: string }) => n.appSecret === matched.appSecret;
      const plan = planIngress(
        envelope.data,
        new Map(candidates.phones.filter(signedBy).map((n) => [n.phoneNumberId, n])),
        new Map(candidates.wabas.filter(signedBy).map((n) => [n.wabaId, n])),
      );
      if (plan.skipped.length) log().warn({ skipped: plan.skipped.slice(0, 20) }, 'webhook elements skipped');
      if (plan.foreign.length) logUnknownOnce(plan.foreign, 'webhook changes for numbers this signature does not cover: ignored', log());

      let result: PersistResult;
      try {
        result = await persist.submit(ctx.correlationId ? { ...plan, correlationId: ctx.correlationId } : plan);
      } catch (e) {
        log().error({ err: e }, 'webhook could not be stored');
        throw errors.unavailable('The delivery could not be stored; retry later.', e);
      }
      await schedule(result, deps.readReceipts === 'on_receipt' ? result.newInbound : []);
      if (deps.logger.isLevelEnabled('info')) {
        log().info(
          {
            stored: result.stored,
            duplicates: result.duplicates,
            statuses: result.statusesApplied,
            statuses_deferred: result.statusesDeferred,
            from: plan.inbound.slice(0, 5).map((i) => maskPhone(i.contact.waId)),
          },
          'webhook stored',
        );
      }
      return { outcome: 'stored', stored: result.stored, duplicates: result.duplicates, statuses: result.statusesApplied };
    },

    async verifyToken(mode, token) {
      if (mode !== 'subscribe' || typeof token !== 'string' || token.length === 0 || token.length > 1024) return false;
      const given = digest(token);
      let ok = false;
      for (const t of await deps.tenancy.verifyTokens()) {
        if (timingSafeEqual(digest(t), given)) ok = true;
      }
      return ok;
    },

    async redrive() {
      const cutoff = new Date(now() - 10_000);
      const dispatch = await deps.repo.pendingDispatch(cutoff, 500);
      if (dispatch.length) {
        await deps.schedulers.agent(dispatch);
        await deps.repo.markDispatched(dispatch.map((d) => d.messageId));
      }
      const media = await deps.repo.pendingMedia(new Date(now() - 60_000), 500);
      if (media.length) await deps.schedulers.media(media);
      if (dispatch.length || media.length) logger.info({ agent: dispatch.length, media: media.length }, 'sweeper re-drove jobs');
      return { agent: dispatch.length, media: media.length };
    },
  };
}
