import type { Redis } from 'ioredis';
import type { EventBus, StreamEvent } from '../../domain/events/event-stream';
import type { Logger } from '../../lib/logger';

/**
 * The stream's fan-out over Redis pub/sub: one channel per workspace, so that any API process
 * can serve any client. Pub/sub forgets what nobody heard; that is fine because listeners check
 * each event's `prev` and read what they missed back from the outbox.
 */
export function createRedisEventBus(deps: { publisher: Redis; subscriber: () => Redis; prefix: string; logger: Logger }): EventBus {
  const channel = (workspaceId: string) => `${deps.prefix}:events:${workspaceId}`;
  const listeners = new Map<string, Set<(e: StreamEvent) => void>>();
  let sub: Redis | undefined;

  function connection(): Redis {
    if (sub) return sub;
    const s = deps.subscriber();
    s.on('message', (ch: string, payload: string) => {
      const set = listeners.get(ch);
      if (!set || set.size === 0) return;
      let event: StreamEvent;
      try {
        const raw = JSON.parse(payload) as StreamEvent & { createdAt: string };
        event = { ...raw, createdAt: new Date(raw.createdAt) };
      } catch (e) {
        deps.logger.warn({ channel: ch, err: { message: (e as Error).message } }, 'unreadable event on the bus');
        return;
      }
      for (const fn of set) fn(event);
    });
    sub = s;
    return s;
  }

  return {
    async publish(events) {
      if (events.length === 0) return;
      const p = deps.publisher.pipeline();
      for (const e of events) p.publish(channel(e.workspaceId), JSON.stringify(e));
      const results = await p.exec();
      const failed = results?.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    },

    async subscribe(workspaceId, listener) {
      const ch = channel(workspaceId);
      let set = listeners.get(ch);
      if (!set) {
        set = new Set();
        listeners.set(ch, set);
      }
      set.add(listener);
      try {
        // Subscribing again to a channel we already hear is harmless and tells us it is active.
        await connection().subscribe(ch);
      } catch (e) {
        set.delete(listener);
        throw e;
      }
      return () => {
        const current = listeners.get(ch);
        if (!current) return;
        current.delete(listener);
        if (current.size === 0) {
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
