-- Payload columns are stored and returned, never searched by value: ANALYZE need not sample and
-- sort them. It did, for every table it analyzed, at a cost that grew with the rows (jsonb
-- comparisons). Statistics target 0 skips a column; the planner then uses its defaults for it,
-- which no query of ours depends on. (The knowledge chunks keep theirs: the hybrid search's
-- plans are tuned and benchmarked with them.) See
-- src/adapters/postgres/housekeeping.ts for where ANALYZE runs when autovacuum does not.
alter table messages
  alter column content set statistics 0,
  alter column raw set statistics 0,
  alter column metadata set statistics 0,
  alter column graph_body set statistics 0,
  alter column answer set statistics 0;
alter table events alter column data set statistics 0;
alter table meta_webhook_changes alter column value set statistics 0;
alter table pending_statuses alter column payload set statistics 0;
alter table idempotency_keys alter column response_body set statistics 0;
alter table knowledge_documents alter column content set statistics 0;
