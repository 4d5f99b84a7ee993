import type { Redis } from 'ioredis';
import type { Logger } from '../../lib/logger';
import type { ChatEntry, ChatStatus, Customer } from './simulator.store';

/**
 * What happens on the simulated phones, told to the /sandbox pages over Redis pub/sub (one
 * channel per workspace), so that a page served by any gateway process sees what another
 * process's simulator did. Nothing here needs to be durable: a page reloads the chats it shows.
 */
export type PhoneEvent =
  | { kind: 'customer'; phone_number_id: string; customer: Customer }
  | { kind: 'message'; phone_number_id: string; wa_id: string; message: ChatEntry }
  | { kind: 'status'; phone_number_id: string; wa_id: string; id: string; status: ChatStatus; error?: { code: number; title: string } }
  | { kind: 'typing'; phone_number_id: string; wa_id: string };

export interface PhoneEvents {
  publish(workspaceId: string, event: PhoneEvent): Promise<void>;
  /** Resolves once listening; the function it returns stops listening. */
  subscribe(workspaceId: string, listener: (event: PhoneEvent) => void): Promise<() => void>;
  close(): Promise<void>;
}

export function createPhoneEvents(deps: { publisher: Redis; subscriber: () => Redis; prefix: string; logger: Logger }): PhoneEvents {
  const channel = (workspaceId: string) => `${deps.prefix}:phones:${workspaceId}`;
  const listeners = new Map<string, Set<(e: PhoneEvent) => void>>();
  let sub: Redis | undefined;

  function connection(): Redis {
    if (sub) return sub;
    const s = deps.subscriber();
    s.on('message', (ch: string, payload: string) => {
      const set = listeners.get(ch);
      if (!set) return;
      let event: PhoneEvent;
      try {
        event = JSON.parse(payload) as PhoneEvent;
      } catch {
        deps.logger.warn({ channel: ch }, 'unreadable sandbox phone event');
        return;
      }
      for (const fn of set) fn(event);
    });
    sub = s;
    return s;
  }

  return {
    async publish(workspaceId, event) {
      await deps.publisher.publish(channel(workspaceId), JSON.stringify(event));
    },
    async subscribe(workspaceId, listener) {
      const ch = channel(workspaceId);
      const set = listeners.get(ch) ?? new Set();
      listeners.set(ch, set);
      set.add(listener);
      try {
        await connection().subscribe(ch);
      } catch (e) {
        set.delete(listener);
        throw e;
      }
      return () => {
        set.delete(listener);
        if (set.size === 0 && listeners.get(ch) === set) {
          listeners.delete(ch);
          sub?.unsubscribe(ch).catch(() => undefined);
        }
      };
    },
    async close() {
      listeners.clear();
      sub?.disconnect();
      sub = undefined;
    },
  };
}
