/**
 * What the reconciler reads from Postgres (the truth) and what it asks of the queues (which may
 * have lost jobs: a Redis restart without persistence, a job failed after its retries, a worker
 * killed twice in the same job). No SQL strings and no BullMQ here.
 */

/** A bot-mode conversation whose newest customer message has no answer. */
export interface UnansweredConversation {
  workspaceId: string;
  conversationId: string;
  /** The newest inbound message (the agent answers everything up to it). */
  messageId: string;
}

export interface StuckOutbound {
  workspaceId: string;
  messageId: string;
  /** Our phone number id (its send queue). */
  numberId: string;
  recipient: string;
  status: 'queued' | 'sending';
}

export interface ReconcileRepo {
  /**
   * Bot-mode conversations with an open 24-hour window whose newest customer message was stored
   * before `storedBefore` and is past the last answered one, oldest first.
   */
  unansweredConversations(storedBefore: Date, limit: number): Promise<UnansweredConversation[]>;
  /** Outbound messages still queued (unchanged since `queuedBefore`) or sending (since `sendingBefore`). */
  stuckOutbound(cutoffs: { queuedBefore: Date; sendingBefore: Date }, limit: number): Promise<StuckOutbound[]>;
  /** Outbox events written before `createdBefore` and not dispatched yet. */
  undispatchedEvents(createdBefore: Date): Promise<number>;
}

/** A job as the reconciler sees it: still to run or running, finished, or not in the queue at all. */
export type JobPresence = 'live' | 'failed' | 'completed' | 'missing';

export interface ReconcileQueues {
  /** Whether the conversation has an agent job waiting, delayed or running. */
  agentJobLive(conversationId: string): Promise<boolean>;
  /** The reconciler's own agent job for that message and round (1, 2, ...). */
  agentRound(conversationId: string, messageId: string, round: number): Promise<JobPresence>;
  enqueueAgentRound(c: UnansweredConversation, round: number): Promise<void>;
  /**
   * Makes sure the message's send job will run: a failed or completed one is run again (with
   * the wamid it may have remembered), a missing one is enqueued. Returns what it found.
   */
  ensureSendJob(m: StuckOutbound): Promise<JobPresence>;
}
