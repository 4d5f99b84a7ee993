-- Outbound sending: what is sent, to whom, and how the send went.
alter table messages add column recipient text;
alter table messages add column graph_body jsonb;
alter table messages add column send_attempts integer not null default 0 check (send_attempts >= 0);
alter table messages add column sent_at timestamptz;
