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
   * are committed, flagged dispatch_pending (Meta's retry or the sweeper enqueues them).
   */
  dispatchError?: unknown;
}

export interface PersistOptions {
  /**
   * Enqueues the agent jobs of the group right after its commit. On success the rows need no
   * second write; on failure they are flagged dispatch_pending (when the database can be
   * reached) and every result carries `dispatchError`. A retry of a stored message enqueues its
   * job again in any case: a process may stop between the commit and the enqueue.
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
