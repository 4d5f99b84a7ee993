import type { Logger } from '../../lib/logger';
import type { DeliveryJob } from '../webhooks/webhooks.port';
import type { EventBus, EventStreamRepo } from './event-stream';

/**
 * Moves outbox rows onto the live stream: numbers them (after their commit) and publishes them;
 * the same transaction writes their webhook deliveries, whose jobs are enqueued after it.
 * Runs in worker processes; several may run, the repo lets one at a time do the work.
 */
export interface EventDispatcher {
  /** One batch; returns how many events it dispatched. */
  runOnce(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

export function createEventDispatcher(deps: {
  repo: EventStreamRepo;
  bus: EventBus;
  logger: Logger;
  intervalMs: number;
  batchSize?: number;
  /** Enqueues webhook delivery jobs; a failure is left to the sweeper (the deliveries are durable). */
  enqueueDeliveries?: (jobs: DeliveryJob[]) => Promise<void>;
}): EventDispatcher {
  const batchSize = deps.batchSize ?? 500;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;
  let lastError = 0;

  async function runOnce(): Promise<number> {
    const { events, deliveries } = await deps.repo.dispatch(batchSize);
    if (deliveries.length > 0 && deps.enqueueDeliveries) {
      await deps.enqueueDeliveries(deliveries).catch((e: Error) =>
        deps.logger.warn({ err: { message: e.message }, deliveries: deliveries.length }, 'webhook deliveries not enqueued (the sweeper will)'),
      );
    }
    if (events.length > 0) {
      // Committed already: if Redis misses these, listeners find the gap through `prev` (or at
      // their next poll) and read them from the outbox.
      await deps.bus.publish(events).catch((e: Error) => deps.logger.warn({ err: { message: e.message }, events: events.length }, 'events not published live'));
    }
    return events.length;
  }

  async function loop() {
    try {
      while (!stopped && (await runOnce()) === batchSize) {
        // A full batch: there is more; go on at once.
      }
    } catch (e) {
      if (Date.now() - lastError > 10_000) {
        lastError = Date.now();
        deps.logger.warn({ err: { message: (e as Error).message } }, 'event dispatch failed (will retry)');
      }
    }
  }

  function schedule() {
    if (stopped) return;
    timer = setTimeout(() => {
      running = loop().finally(() => {
        running = undefined;
        schedule();
      });
    }, deps.intervalMs);
    timer.unref();
  }

  return {
    runOnce,
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
