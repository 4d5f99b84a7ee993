import type { IngressPlan } from './plan';

/** An inbound message whose conversation needs an agent job. */
export interface DispatchItem {
  workspaceId: string;
  conversationId: string;
  messageId: string;
  /** Tells this job apart from an earlier one for the same message (a handback asks again). */
  round?: string;
  /** The id of the webhook delivery that brought the message (its request id), for the logs. */
  correlationId?: string;
}

export interface MediaItem {
  workspaceId: string;
  mediaId: string;
  messageId: string;
  phoneNumberId: string;
}

export interface PersistResult {
  stored: number;
  duplicates: number;
  /** New messages, and stored ones whose earlier enqueue never happened. */
  dispatch: DispatchItem[];
  media: MediaItem[];
  /** Newly stored inbound messages that expect an answer (read receipts). */
  newInbound: { workspaceId: string; phoneNumberId: string; wamid: string }[];
  statusesApplied: number;
  statusesDeferred: number;
  /**
   * Set when `dispatch` was given to persist and the agent jobs could not be enqueued: the rows
   * are committed with dispatch_pending (Meta's retry or the sweeper enqueues them).
   */
  dispatchError?: unknown;
}

export interface PersistOptions {
  /**
   * Enqueues the agent jobs of the group inside its transaction, before the commit. On success
   * the rows are committed already dispatched (no second write); on failure they are committed
   * with dispatch_pending and every result carries `dispatchError`.
   */
  dispatch?: (items: DispatchItem[]) => Promise<void>;
}

export interface IngressRepo {
  /**
   * Stores the plans of several deliveries in one transaction (group commit): rows, windows,
   * statuses, templates, outbox events. One result per plan, in order.
   */
  persist(plans: IngressPlan[], opts?: PersistOptions): Promise<PersistResult[]>;
  markDispatched(messageIds: string[]): Promise<void>;
  /** Inbound messages stored more than `olderThan` ago whose agent job is not known to exist. */
  pendingDispatch(olderThan: Date, limit: number): Promise<DispatchItem[]>;
  /** Pending media older than `olderThan` whose job may have been lost. */
  pendingMedia(olderThan: Date, limit: number): Promise<MediaItem[]>;
  /** Applies statuses that arrived before the outbound message had its wamid. */
  applyPendingStatuses(phoneNumberId: string, wamid: string): Promise<number>;
  prunePendingStatuses(olderThan: Date): Promise<number>;
}
