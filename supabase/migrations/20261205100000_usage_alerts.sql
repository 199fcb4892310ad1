-- Usage alerts: an account's usage of a limited feature reached 80 % or 100 % of its plan's
-- limit in a billing period. A row is written in the transaction that records the usage
-- which crossed the threshold (billing_record_usage), so the unique key makes it exactly
-- once whatever the concurrency; the same row is the outbox its delivery to the app's URL
-- works from (retried until delivered, never lost), and what GET usage shows.

create table if not exists billing_usage_alerts (
  id               bigint generated always as identity primary key,
  account_id       text not null,
  feature          text not null,
  period_start     timestamptz not null,
  period_end       timestamptz not null,
  threshold        integer not null check (threshold in (80, 100)),   -- percent of the limit
  used             bigint not null,                                    -- usage when it was crossed
  "limit"          bigint not null,
  created_at       timestamptz not null default now(),
  -- Delivery (outbox): delivered_at is set once the app's URL answered 2xx.
  delivered_at     timestamptz,
  attempts         integer not null default 0,
  next_attempt_at  timestamptz not null default now(),
  lease_until      timestamptz,                                        -- a sender owns it until then
  last_error       text,
  unique (account_id, feature, period_start, threshold)
);
create index if not exists billing_usage_alerts_undelivered_idx
  on billing_usage_alerts (next_attempt_at) where delivered_at is null;
alter table billing_usage_alerts enable row level security;
