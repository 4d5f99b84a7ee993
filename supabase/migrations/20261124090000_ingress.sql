-- Ingress: what the Meta webhook receiver needs beyond the initial schema.

-- An inbound message whose agent job is not yet known to be enqueued. Set in the transaction
-- that stores the message, cleared once the job is in Redis; the sweeper re-drives the rest.
alter table messages add column dispatch_pending boolean not null default false;
create index messages_dispatch_pending_idx on messages (created_at) where dispatch_pending;

-- Meta's status for each outbound message may arrive before we have stored its wamid (the send
-- worker writes the wamid after Graph answers). Such statuses wait here and are applied when the
-- wamid appears; they are kept for 7 days.
create table pending_statuses (
  phone_number_id text not null,
  wamid text not null,
  status text not null check (status in ('sent', 'delivered', 'read', 'failed')),
  workspace_id text not null references workspaces (id) on delete cascade,
  payload jsonb not null,
  meta_timestamp timestamptz,
  received_at timestamptz not null default now(),
  primary key (phone_number_id, wamid, status),
  foreign key (workspace_id, phone_number_id) references phone_numbers (workspace_id, id) on delete cascade
);
create index pending_statuses_received_idx on pending_statuses (received_at);

-- Webhook changes we do not act on (account updates, quality updates, errors, ...): kept raw.
create table meta_webhook_changes (
  id text primary key,
  workspace_id text not null references workspaces (id) on delete cascade,
  phone_number_id text,
  waba_id text not null,
  field text not null,
  value jsonb not null,
  received_at timestamptz not null default now()
);
create index meta_webhook_changes_workspace_idx on meta_webhook_changes (workspace_id, id desc);

-- Template status webhooks name the template by Meta's id.
create index templates_meta_id_idx on templates (workspace_id, meta_template_id);

-- Media fetched from Meta for inbound messages.
create table media (
  id text primary key,
  workspace_id text not null references workspaces (id) on delete cascade,
  message_id text not null,
  meta_media_id text not null,
  mime_type text,
  sha256 text,
  size_bytes bigint,
  storage text check (storage in ('local', 'supabase')),
  storage_key text,
  status text not null default 'pending' check (status in ('pending', 'stored', 'failed')),
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (message_id, meta_media_id),
  foreign key (workspace_id, message_id) references messages (workspace_id, id) on delete cascade
);
create index media_workspace_idx on media (workspace_id, id);

alter table pending_statuses enable row level security;
alter table meta_webhook_changes enable row level security;
alter table media enable row level security;
