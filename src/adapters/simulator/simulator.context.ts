import { createHash, timingSafeEqual } from 'node:crypto';
import type { PhoneNumber } from '../../domain/tenancy/tenancy.service';
import type { TemplateRecord } from '../../domain/templates/templates.port';
import type { Logger } from '../../lib/logger';
import { MetaError } from './meta-errors';
import type { PhoneEvent, PhoneEvents } from './phone-events';
import type { SimulatorStore } from './simulator.store';
import type { WebhookEmitter, WebhookNumber } from './webhook-emitter';

/** Status webhook delays after a send is accepted: sent, then delivered, then read. */
export interface StatusDelays {
  sentMs: number;
  deliveredMs: number;
  readMs: number;
}

export interface SimulatorDeps {
  store: SimulatorStore;
  events: PhoneEvents;
  webhooks: WebhookEmitter;
  numbers: {
    byPhoneNumberId(phoneNumberId: string): Promise<PhoneNumber | null>;
    /** Every number (of every workspace): WABA lookups. */
    all(): Promise<PhoneNumber[]>;
    credentials(number: { id: string; workspaceId: string }): Promise<{ accessToken: string; appSecret: string }>;
  };
  /** The workspace's template catalog (every status), for message_templates and template sends. */
  templates(workspaceId: string): Promise<TemplateRecord[]>;
  /** The gateway's base URL: media download URLs point there. */
  gatewayUrl(): Promise<string>;
  delays: StatusDelays;
  logger: Logger;
  now?: () => Date;
}

/** What the parts of the simulator share: cached number lookups, auth, timers, publishing. */
export interface SimulatorContext extends SimulatorDeps {
  now: () => Date;
  number(phoneNumberId: string): Promise<PhoneNumber | null>;
  webhookNumber(number: PhoneNumber): Promise<WebhookNumber>;
  /** Throws Meta's 2500 (no token) or 190 (not this number's token). */
  authorize(token: string | undefined, ...numbers: PhoneNumber[]): Promise<void>;
  sleep(ms: number): Promise<boolean>;
  /** Runs a background task; close() waits for none of them but stops their sleeps. */
  background(task: () => Promise<void>): void;
  publish(workspaceId: string, event: PhoneEvent): void;
  closed(): boolean;
  close(): void;
}

const CACHE_MS = 10_000;
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function createSimulatorContext(deps: SimulatorDeps): SimulatorContext {
  const numbers = new Map<string, { at: number; number: PhoneNumber | null }>();
  const secrets = new Map<string, { at: number; value: { accessToken: string; appSecret: string } }>();
  const sleeping = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();
  let isClosed = false;
  const now = deps.now ?? (() => new Date());

  async function credentials(n: PhoneNumber) {
    const hit = secrets.get(n.id);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
    const value = await deps.numbers.credentials(n);
    secrets.set(n.id, { at: Date.now(), value });
    return value;
  }

  return {
    ...deps,
    now,
    async number(phoneNumberId) {
      if (!/^\d{1,32}$/.test(phoneNumberId)) return null;
      const hit = numbers.get(phoneNumberId);
      if (hit && Date.now() - hit.at < CACHE_MS) return hit.number;
      const number = await deps.numbers.byPhoneNumberId(phoneNumberId);
      if (numbers.size > 10_000) numbers.clear();
      numbers.set(phoneNumberId, { at: Date.now(), number });
      return number;
    },
    async webhookNumber(n) {
      return { phoneNumberId: n.phoneNumberId, wabaId: n.wabaId, displayNumber: n.displayNumber, appSecret: (await credentials(n)).appSecret };
    },
    async authorize(token, ...candidates) {
      if (!token) throw new MetaError(2500);
      const given = digest(token);
      let ok = false;
      for (const n of candidates) {
        // Compare digests in constant time, and keep going after a match.
        if (timingSafeEqual(digest((await credentials(n)).accessToken), given)) ok = true;
      }
      if (!ok) throw new MetaError(190);
    },
    sleep(ms) {
      if (isClosed) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const item = {
          timer: setTimeout(() => {
            sleeping.delete(item);
            resolve(!isClosed);
          }, ms),
          wake: () => {
            clearTimeout(item.timer);
            sleeping.delete(item);
            resolve(false);
          },
        };
        sleeping.add(item);
      });
    },
    background(task) {
      task().catch((e: Error) => deps.logger.warn({ err: { message: e.message } }, 'sandbox: background task failed'));
    },
    publish(workspaceId, event) {
      deps.events.publish(workspaceId, event).catch((e: Error) => deps.logger.debug({ err: { message: e.message } }, 'sandbox: phone event not published'));
    },
    closed: () => isClosed,
    close() {
      isClosed = true;
      for (const s of [...sleeping]) s.wake();
      deps.webhooks.close();
    },
  };
}
