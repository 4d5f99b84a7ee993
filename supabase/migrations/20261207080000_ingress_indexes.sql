-- Indexes every inbound message paid for and no query needs. Each delivery inserts a message and
-- an event, and every index on them is one more B-tree descent and insert per delivery (on the
-- embedded database, index inserts were a third of its time per message in a CPU profile).
--
-- messages_list_idx held what messages' unique (workspace_id, id) index holds; a B-tree is read
-- backwards as well as forwards.
drop index messages_list_idx;
-- stream_seq is set when an event is dispatched and is null until then: the index that keeps it
-- unique need only hold the dispatched events.
alter table events drop constraint events_stream_seq_key;
create unique index events_stream_seq_key on events (stream_seq) where stream_seq is not null;
-- seq is an identity column (generated always): unique by construction. The queries that read by
-- it use events_undispatched_idx or events_workspace_seq_idx.
alter table events drop constraint events_seq_key;
