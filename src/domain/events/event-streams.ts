import { AppError, errors } from '../../lib/errors';
import type { EventBus, EventStreamRepo, StreamEvent } from './event-stream';

/**
 * One live listener (an SSE client): resumes after the event it names, then follows the bus.
 * Events reach `deliver` in order, each once; the conversation filter applies to delivery only,
 * so continuity is checked on the whole workspace's sequence.
 */
export interface EventListener {
  /** Reads back anything missed (called on each heartbeat, in case a publish was lost). */
  poll(): void;
  close(): void;
}

export interface EventStreams {
  open(p: {
    workspaceId: string;
    conversationId?: string;
    lastEventId?: string;
    deliver(event: StreamEvent): void;
    onError(e: Error): void;
  }): Promise<EventListener>;
}

const PAGE = 500;

export function createEventStreams(deps: { repo: EventStreamRepo; bus: EventBus; subscribeTimeoutMs?: number }): EventStreams {
  const timeoutMs = deps.subscribeTimeoutMs ?? 5_000;
  return {
    async open(p) {
      let cursor = 0;
      let closed = false;
      let ready = false;
      const early: StreamEvent[] = [];
      // Everything runs one step at a time, so deliveries keep their order.
      let chain: Promise<void> = Promise.resolve();
      const step = (fn: () => Promise<void> | void) => {
        chain = chain.then(async () => {
          if (!closed) await fn();
        }).catch((e: Error) => {
          if (!closed) p.onError(e);
        });
      };
      const deliver = (e: StreamEvent) => {
        if (e.seq <= cursor) return;
        cursor = e.seq;
        if (!p.conversationId || e.conversationId === p.conversationId) p.deliver(e);
      };
      const catchUp = async () => {
        for (;;) {
          const batch = await deps.repo.after(p.workspaceId, cursor, PAGE);
          for (const e of batch) deliver(e);
          if (batch.length < PAGE || closed) return;
        }
      };
      const onLive = async (e: StreamEvent) => {
        if (e.seq <= cursor) return;
        if (e.prev === cursor) deliver(e);
        else await catchUp(); // a gap: something was published before we listened, or lost
      };

      // Listen first, then find the starting point: nothing published in between is lost.
      let timer: NodeJS.Timeout | undefined;
      const unsubscribe = await Promise.race([
        deps.bus.subscribe(p.workspaceId, (e) => {
          if (!ready) early.push(e);
          else step(() => onLive(e));
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(errors.unavailable('The live event stream is not available right now (Redis is not answering).')), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      try {
        if (p.lastEventId !== undefined) {
          const at = await deps.repo.position(p.workspaceId, p.lastEventId);
          if (at === null) {
            throw new AppError({
              type: 'invalid_request_error',
              code: 'unknown_last_event_id',
              status: 400,
              param: 'Last-Event-ID',
              message: `No event "${p.lastEventId}" in this workspace's stream: reconnect without Last-Event-ID to start from now.`,
            });
          }
          cursor = at;
        } else {
          cursor = await deps.repo.head(p.workspaceId);
        }
      } catch (e) {
        unsubscribe();
        throw e;
      }
      ready = true;
      if (p.lastEventId !== undefined) step(catchUp);
      for (const e of early.splice(0)) step(() => onLive(e));
      return {
        poll: () => step(catchUp),
        close() {
          closed = true;
          unsubscribe();
        },
      };
    },
  };
}
