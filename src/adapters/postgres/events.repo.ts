import type { NewEvent } from '../../domain/events/events.port';
import { newId } from '../../lib/ids';
import type { Queryable } from './database';

/** Writes outbox rows; always called with the client of the transaction that made the change. */
export async function insertEvents(db: Queryable, events: NewEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const ids = events.map(() => newId('event'));
  // A named statement: every write path records events, planned once per connection.
  await db.query({
    name: 'events-insert',
    text: `insert into events (id, workspace_id, type, conversation_id, data)
     select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])`,
    values: [
      ids,
      events.map((e) => e.workspaceId),
      events.map((e) => e.type),
      events.map((e) => e.conversationId ?? null),
      events.map((e) => JSON.stringify(e.data)),
    ],
  });
  return ids;
}
