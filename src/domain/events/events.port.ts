/** An outbox row: written in the same transaction as the change it tells about. */
export interface NewEvent {
  workspaceId: string;
  type: string;
  conversationId?: string | null;
  data: Record<string, unknown>;
}
