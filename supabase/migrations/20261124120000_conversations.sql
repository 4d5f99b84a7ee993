-- Human agents: takeover, replies by a named agent, internal notes, the live event stream.

-- Who wrote an outbound message when a person did (agent replies; the id is in author_id).
alter table messages add column author_name text check (length(author_name) <= 200);
create index messages_conversation_out_idx on messages (conversation_id, id) where direction = 'out';
create index messages_queued_bot_idx on messages (conversation_id) where author = 'bot' and status = 'queued';

alter table conversations add column closed_at timestamptz;
create index conversations_human_idle_idx on conversations (human_activity_at) where mode = 'human';

-- Internal notes: written by agents beside a conversation, never sent to the customer.
create table conversation_notes (
  id text primary key,
  workspace_id text not null,
  conversation_id text not null,
  author_id text,
  author_name text check (length(author_name) <= 200),
  body text not null check (length(body) between 1 and 10000),
  created_at timestamptz not null default now(),
  unique (workspace_id, id),
  foreign key (workspace_id, conversation_id) references conversations (workspace_id, id) on delete cascade
);
create index conversation_notes_conversation_idx on conversation_notes (workspace_id, conversation_id, id);
alter table conversation_notes enable row level security;

-- The live stream's order. `seq` comes from an identity, which is handed out at insert, not at
-- commit: a reader that resumed after seq 10 could miss a seq 9 committed later. The dispatcher
-- (one at a time, serialized by the row below) numbers events in the order it publishes them,
-- which is after their commit; resuming "after stream_seq N" therefore never skips an event.
alter table events add column stream_seq bigint unique;
create index events_stream_idx on events (workspace_id, stream_seq) where stream_seq is not null;

create table event_stream_state (
  id integer primary key check (id = 1),
  last_stream_seq bigint not null default 0
);
insert into event_stream_state (id, last_stream_seq) values (1, 0);
alter table event_stream_state enable row level security;
