import { createHmac } from 'node:crypto';
import type { Logger } from '../../lib/logger';

/**
 * The simulator's side of Meta's webhooks: it wraps customer messages and statuses in Meta's
 * envelope, serialises them as Meta does (non-ASCII escaped as \uXXXX), signs the exact bytes with
 * the number's app secret (X-Hub-Signature-256) and POSTs them to the gateway's own
 * /webhooks/whatsapp over HTTP, so that they go through the real ingress. Like Meta it retries
 * an answer other than 200, with growing delays, then gives up.
 */
export interface WebhookNumber {
  phoneNumberId: string;
  wabaId: string;
  displayNumber: string | null;
  appSecret: string;
}

export interface Delivery {
  /** The outcome of the first attempt. */
  first: Promise<boolean>;
  /** True once the gateway answered 200; false after the last retry (or when the simulator closed). */
  final: Promise<boolean>;
}

export interface WebhookEmitter {
  deliver(number: WebhookNumber, value: Record<string, unknown>): Delivery;
  close(): void;
}

/** JSON as Meta sends it: every character outside ASCII as \uXXXX (surrogate pairs for emoji). */
export function metaSerialize(payload: unknown): string {
  return JSON.stringify(payload).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function envelope(number: Omit<WebhookNumber, 'appSecret'>, value: Record<string, unknown>) {
  const display = (number.displayNumber ?? '').replace(/\D/g, '') || number.phoneNumberId;
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: number.wabaId,
        changes: [
          {
            value: { messaging_product: 'whatsapp', metadata: { display_phone_number: display, phone_number_id: number.phoneNumberId }, ...value },
            field: 'messages',
          },
        ],
      },
    ],
  };
}

export function createWebhookEmitter(deps: {
  /** The gateway's base URL (its own listening address). */
  gatewayUrl: () => Promise<string>;
  logger: Logger;
  retryDelaysMs?: number[];
  timeoutMs?: number;
}): WebhookEmitter {
  const delays = deps.retryDelaysMs ?? [1_000, 5_000, 30_000, 120_000];
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const pending = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  let closed = false;

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const item = { timer: setTimeout(() => done(), ms), resolve: () => done() };
      function done() {
        clearTimeout(item.timer);
        pending.delete(item);
        resolve();
      }
      pending.add(item);
    });

  async function attempt(body: string, signature: string): Promise<{ ok: boolean; why: string }> {
    try {
      const base = await deps.gatewayUrl();
      const res = await fetch(`${base}/webhooks/whatsapp`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature, 'User-Agent': 'facebookexternalua' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      return { ok: res.status === 200, why: `HTTP ${res.status}` };
    } catch (e) {
      return { ok: false, why: (e as Error).message };
    }
  }

  return {
    deliver(number, value) {
      const body = metaSerialize(envelope(number, value));
      const signature = `sha256=${createHmac('sha256', number.appSecret).update(body).digest('hex')}`;
      let settleFirst: (ok: boolean) => void = () => {};
      const first = new Promise<boolean>((r) => (settleFirst = r));
      const final = (async () => {
        for (let i = 0; ; i++) {
          if (closed) {
            settleFirst(false);
            return false;
          }
          const r = await attempt(body, signature);
          if (i === 0) settleFirst(r.ok);
          if (r.ok) return true;
          const delay = delays[i];
          if (delay === undefined || closed) {
            deps.logger.warn({ phone_number_id: number.phoneNumberId, attempts: i + 1, reason: r.why }, 'sandbox: the gateway did not accept a simulated webhook; giving up');
            return false;
          }
          deps.logger.debug({ phone_number_id: number.phoneNumberId, attempt: i + 1, reason: r.why }, 'sandbox: simulated webhook refused; retrying');
          await wait(delay);
        }
      })();
      return { first, final };
    },
    close() {
      closed = true;
      for (const p of [...pending]) p.resolve();
    },
  };
}
