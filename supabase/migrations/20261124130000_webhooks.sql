-- Signed outbound webhooks: fan-out rows written by the event dispatcher, retried by the
-- webhooks worker, re-driven by the sweeper when Redis lost a job.

-- When the last attempt was made (the other last_* columns describe it).
alter table webhook_deliveries add column last_attempt_at timestamptz;
-- When the endpoint was disabled (410, or failing for too long); disabled_reason says why.
alter table webhook_endpoints add column disabled_at timestamptz;

-- The dispatcher's fan-out: the active endpoints of a workspace.
create index webhook_endpoints_active_idx on webhook_endpoints (workspace_id) where active;
-- The sweeper: pending deliveries whose attempt is due.
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';
