import { z } from 'zod';
import type { DeliveryJob } from '../webhooks/webhooks.port';

/**
 * The live event stream. Outbox rows become stream events when the dispatcher numbers them
 * (`seq`, in the order it publishes them, after their commit) and publishes them on the bus.
 * Each event also names the previous event of its workspace (`prev`), so a listener that sees a
 * `prev` it has not delivered knows it missed something and reads it back from the database.
 */
export interface StreamEvent {
  id: string;
  seq: number;
  /** The seq of the workspace's previous event (0 when this is its first). */
  prev: number;
  workspaceId: string;
  conversationId: string | null;
  type: string;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** What one dispatch committed: the events, and the webhook deliveries it fanned them out to. */
export interface Dispatched {
  events: StreamEvent[];
  deliveries: DeliveryJob[];
}

export interface EventStreamRepo {
  /**
   * Numbers and marks up to `limit` undispatched events and, in the same transaction, writes one
   * webhook delivery per subscribed endpoint; nothing when another dispatcher is at work.
   */
  dispatch(limit: number): Promise<Dispatched>;
  /** The workspace's dispatched events after `seq`, in order. */
  after(workspaceId: string, seq: number, limit: number): Promise<StreamEvent[]>;
  /** The seq of one of the workspace's events; null when it has none by that id (or it is not dispatched yet). */
  position(workspaceId: string, eventId: string): Promise<number | null>;
  /** The seq of the workspace's latest dispatched event (0 when none). */
  head(workspaceId: string): Promise<number>;
}

export interface EventBus {
  publish(events: StreamEvent[]): Promise<void>;
  /** Resolves once the subscription is active; the function it returns unsubscribes. */
  subscribe(workspaceId: string, listener: (event: StreamEvent) => void): Promise<() => void>;
  close(): Promise<void>;
}

/**
 * The documented shape of `eventView` (the OpenAPI document is built from it); `data` is the
 * event type's payload from the catalog.
 */
export const eventSchema = z
  .object({
    id: z.string().meta({ description: 'Unique per event; the SSE `id` and the `webhook-id` header.', example: 'evt_01jd8v2k3m4n5p6q7r8s9t0v1w' }),
    type: z.string().meta({ example: 'message.received' }),
    created_at: z.iso.datetime(),
    workspace_id: z.string(),
    conversation_id: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Event', description: 'An event of the workspace: the `data` line of the live stream and the body of a webhook.' });
export type EventView = z.output<typeof eventSchema>;

/** The public JSON of an event: the SSE `data` line and webhook bodies. */
export function eventView(e: StreamEvent): EventView {
  return {
    id: e.id,
    type: e.type,
    created_at: e.createdAt.toISOString(),
    workspace_id: e.workspaceId,
    conversation_id: e.conversationId,
    data: e.data,
  };
}
