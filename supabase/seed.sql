-- Seed for `supabase db reset` / `supabase start`.
-- The gateway needs no seed rows: workspaces, numbers and API keys are created with
-- `npm run cli -- workspace:create | number:add | key:create`, or from WHATSAPP_* and
-- ADMIN_API_KEY at start. Secrets must be sealed with the gateway's MASTER_KEY, which is why
-- they cannot be seeded in SQL.
select 1;
