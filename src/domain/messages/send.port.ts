import type { MessageRow } from './message-view';

export interface OutboundRow extends MessageRow {
  recipient: string;
  graph_body: Record<string, unknown>;
  send_attempts: number;
  /** phone_numbers.phone_number_id (Meta's id) of the sending number. */
  meta_phone_number_id: string;
}

export type ClaimResult =
  | { outcome: 'claimed'; row: OutboundRow }
  /** A previous attempt died between the Graph call and recording its answer. */
  | { outcome: 'unknown'; row: OutboundRow }
  /** Bot-authored, and the conversation is no longer in bot mode. */
  | { outcome: 'cancelled' }
  | { outcome: 'done'; status: string }
  | { outcome: 'missing' };

export interface SendRepo {
  /** queued -> sending, atomically; a bot message only while its conversation is in bot mode. */
  claim(messageId: string): Promise<ClaimResult>;
  /** Records the send of a claimed row; says whether statuses for that wamid were waiting for it. */
  markSent(row: OutboundRow, wamid: string): Promise<{ pendingStatuses: boolean }>;
  markFailed(messageId: string, error: { code: number | null; title: string; details: string | null }, closeWindow: boolean): Promise<void>;
  /** sending -> queued, for a retry. */
  requeue(messageId: string): Promise<void>;
  applyPendingStatuses(phoneNumberId: string, wamid: string): Promise<number>;
}
