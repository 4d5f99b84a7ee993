-- The AI agent: knowledge ingestion bookkeeping, answers with sources, handoffs, gap alerts.

-- Which embedding model indexed a document (a query must be embedded by the same model), how
-- many chunks its live version has, and when it was indexed.
alter table knowledge_documents add column embedding_model text;
alter table knowledge_documents add column chunk_count integer not null default 0 check (chunk_count >= 0);
alter table knowledge_documents add column indexed_at timestamptz;
create index knowledge_documents_active_idx on knowledge_documents (workspace_id, id) where active;

-- When knowledge_gap.detected was emitted for a gap (once, when it crossed the threshold).
alter table knowledge_gaps add column notified_at timestamptz;

-- How the agent produced an outbound message: confidence, sources, extractive or not, and the
-- inbound messages it answered.
alter table messages add column answer jsonb;

-- Why and when the conversation was handed to a person.
alter table conversations add column handoff_reason text;
alter table conversations add column handoff_at timestamptz;

-- The agent reads the inbound messages of a conversation after the last answered one.
create index messages_inbound_unanswered_idx on messages (conversation_id, id) where direction = 'in';
create index usage_records_kind_idx on usage_records (workspace_id, kind, occurred_at);
