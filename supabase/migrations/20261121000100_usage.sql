-- Metered usage: a ledger of records (each recorded once, by idempotency key) and the
-- report batches that carry them to Stripe as meter events (each sent with a fixed
-- identifier, so Stripe deduplicates a re-send).
--
-- A record's life: pending (batch_id null) -> claimed into a batch -> reported when its
-- batch is. A batch's life: pending (leased to one reporter at a time) -> reported, or
-- failed when Stripe refuses it for good. Reporters never hold a transaction across the
-- Stripe call (supabase-js cannot): they claim in one SQL call, call Stripe, then mark
-- in another. A reporter that dies between the two leaves its batch pending; once the
-- lease expires another reporter re-sends it with the same identifier. Stripe refuses an
-- identifier it has seen within at least the last 24 hours ("An event already exists with
-- identifier ..."), which the reporter takes as delivered; leases last minutes, far inside.

create table if not exists billing_usage_batches (
  id              bigint generated always as identity primary key,
  -- '<customer>:<window start, unix s>:<seq>': what the meter event covers. Sent to
  -- Stripe as the meter event's identifier, and again, unchanged, on every re-send.
  identifier      text not null unique,
  customer_id     text not null,
  account_id      text not null,
  window_start    timestamptz not null,
  seq             integer not null,                -- 1, 2, ...: usage that arrived after a window was first reported
  event_timestamp bigint not null,                 -- unix seconds sent to Stripe: the batch's earliest record
  quantity        bigint not null check (quantity > 0),
  records         integer not null,
  status          text not null default 'pending' check (status in ('pending', 'reported', 'failed')),
  lease_until     timestamptz,                     -- a reporter owns a pending batch until then
  lease_token     uuid,
  attempts        integer not null default 0,
  last_error      text,
  created_at      timestamptz not null default now(),
  reported_at     timestamptz,
  unique (customer_id, window_start, seq)
);
create index if not exists billing_usage_batches_pending_idx on billing_usage_batches (id) where status = 'pending';

create table if not exists billing_usage_records (
  id              bigint generated always as identity primary key,
  account_id      text not null,                   -- 'user:<id>' or 'org:<id>'; the account may not be linked yet
  idempotency_key text not null,
  quantity        bigint not null check (quantity > 0),
  occurred_at     timestamptz not null,
  recorded_at     timestamptz not null default now(),
  batch_id        bigint references billing_usage_batches (id),
  unique (account_id, idempotency_key)
);
create index if not exists billing_usage_records_period_idx on billing_usage_records (account_id, occurred_at);
create index if not exists billing_usage_records_unclaimed_idx on billing_usage_records (account_id) where batch_id is null;

alter table billing_usage_batches enable row level security;
alter table billing_usage_records enable row level security;

-- { records: [{ account_id, key, quantity, occurred_at }] } -> { accepted, duplicates: [index] }
-- One statement: the whole batch is written or none of it. A key seen before (or earlier
-- in the same batch) is a duplicate and changes nothing.
create or replace function billing_usage_record(p jsonb)
returns jsonb language sql set search_path = public as $$
  with input as (
    select (e.ord - 1)::integer as idx, e.r->>'account_id' as account_id, e.r->>'key' as key,
           (e.r->>'quantity')::bigint as quantity, (e.r->>'occurred_at')::timestamptz as occurred_at
    from jsonb_array_elements(p->'records') with ordinality as e(r, ord)
  ), firsts as (
    select distinct on (account_id, key) idx, account_id, key from input order by account_id, key, idx
  ), ins as (
    insert into billing_usage_records (account_id, idempotency_key, quantity, occurred_at)
    select i.account_id, i.key, i.quantity, i.occurred_at from input i join firsts f on f.idx = i.idx
    on conflict (account_id, idempotency_key) do nothing
    returning account_id, idempotency_key
  )
  select jsonb_build_object(
    'accepted', (select count(*) from ins),
    'duplicates', coalesce((
      select jsonb_agg(i.idx order by i.idx) from input i
      where not exists (select 1 from firsts f join ins on ins.account_id = f.account_id and ins.idempotency_key = f.key
                        where f.idx = i.idx)), '[]'::jsonb))
$$;

-- Stripe takes identifiers of up to 100 characters; customer ids are far shorter, but a
-- longer one is hashed rather than refused.
create or replace function billing_usage_identifier(raw text)
returns text language sql immutable as $$
  select case when length(raw) <= 100 then raw else 'usage:' || md5(raw) end
$$;

-- { lease_seconds, max_batches, window_seconds } -> [batch, ...], each leased to the caller.
-- First the batches whose lease ran out (a reporter died, or Stripe was down): they go out
-- again with their identifier unchanged. Then new batches from unclaimed usage of linked
-- accounts, one per customer and window: the window is the record's time floored to
-- window_seconds, split where a subscription period starts or ends inside it, so a meter
-- event never straddles two billing periods. Claims run one at a time (an advisory lock
-- for the length of this call), so two reporters never put a record in two batches nor
-- give two batches the same number.
create or replace function billing_usage_claim(p jsonb)
returns jsonb language plpgsql
-- Grouping a large backlog sorts in memory rather than on disk.
set search_path = public set work_mem = '64MB' as $$
declare
  lease interval := make_interval(secs => coalesce((p->>'lease_seconds')::integer, 120));
  max_batches integer := coalesce((p->>'max_batches')::integer, 200);
  w bigint := coalesce((p->>'window_seconds')::bigint, 3600);
  token uuid := gen_random_uuid();
  taken integer;
begin
  perform pg_advisory_xact_lock(hashtext('billing_usage_claim'));

  with stale as (
    select id from billing_usage_batches
    where status = 'pending' and (lease_until is null or lease_until <= now())
    order by id limit max_batches
    for update skip locked
  )
  update billing_usage_batches b
  set lease_until = now() + lease, lease_token = token, attempts = b.attempts + 1
  from stale where b.id = stale.id;
  get diagnostics taken = row_count;

  if taken < max_batches then
    with unclaimed as (
      select r.id, r.quantity, r.occurred_at, r.account_id, a.stripe_customer_id as customer_id,
             to_timestamp(floor(extract(epoch from r.occurred_at) / w) * w) as bucket
      from billing_usage_records r join billing_accounts a on a.id = r.account_id
      where r.batch_id is null and a.stripe_customer_id is not null
    ), cells as (
      select distinct customer_id, bucket from unclaimed
    ), splits as materialized (
      select c.customer_id, c.bucket, v.x as boundary
      from cells c
      join billing_subscriptions s on s.customer_id = c.customer_id
      cross join lateral (values (s.current_period_start), (s.current_period_end)) v(x)
      where v.x > c.bucket and v.x < c.bucket + make_interval(secs => w)
    ), windowed as (
      select u.*, coalesce((select max(sp.boundary) from splits sp
                            where sp.customer_id = u.customer_id and sp.bucket = u.bucket and sp.boundary <= u.occurred_at),
                           u.bucket) as window_start
      from unclaimed u
    ), groups as (
      select customer_id, window_start, min(account_id) as account_id, sum(quantity) as quantity,
             count(*)::integer as records, min(occurred_at) as first_at
      from windowed group by customer_id, window_start
      order by window_start, customer_id
      limit max_batches - taken
    ), numbered as (
      select g.*, coalesce((select max(b.seq) from billing_usage_batches b
                            where b.customer_id = g.customer_id and b.window_start = g.window_start), 0) + 1 as seq
      from groups g
    ), ins as (
      insert into billing_usage_batches (identifier, customer_id, account_id, window_start, seq, event_timestamp,
                                         quantity, records, lease_until, lease_token, attempts)
      select billing_usage_identifier(n.customer_id || ':' || extract(epoch from n.window_start)::bigint || ':' || n.seq),
             n.customer_id, n.account_id, n.window_start, n.seq, floor(extract(epoch from n.first_at))::bigint,
             n.quantity, n.records, now() + lease, token, 1
      from numbered n
      returning id, customer_id, window_start
    )
    update billing_usage_records r set batch_id = ins.id
    from windowed wd join ins on ins.customer_id = wd.customer_id and ins.window_start = wd.window_start
    where r.id = wd.id and r.batch_id is null;
  end if;

  return coalesce((
    select jsonb_agg(jsonb_build_object(
      'id', b.id, 'identifier', b.identifier, 'customer_id', b.customer_id, 'account_id', b.account_id,
      'window_start', b.window_start, 'seq', b.seq, 'event_timestamp', b.event_timestamp,
      'quantity', b.quantity, 'records', b.records, 'attempts', b.attempts, 'lease_token', b.lease_token,
      'lease_ms_left', floor(extract(epoch from (b.lease_until - now())) * 1000)::bigint) order by b.id)
    from billing_usage_batches b where b.lease_token = token and b.status = 'pending'), '[]'::jsonb);
end $$;

-- { ids: [batch id] } -> { reported }: Stripe accepted these (or already had them).
-- Whoever holds the lease, this is true, so no lease check; a reported batch stays so.
create or replace function billing_usage_mark_reported(p jsonb)
returns jsonb language plpgsql set search_path = public as $$
declare n integer;
begin
  update billing_usage_batches
  set status = 'reported', reported_at = now(), lease_until = null, lease_token = null, last_error = null
  where id in (select jsonb_array_elements_text(p->'ids')::bigint) and status = 'pending';
  get diagnostics n = row_count;
  return jsonb_build_object('reported', n);
end $$;

-- { token, batches: [{ id, error, retry_in_seconds | null }] } -> { released }
-- Gives back batches this reporter could not report: with retry_in_seconds they stay
-- pending and are offered again after that delay; without, Stripe refused them for good
-- and they are failed (see billing_usage_retry_failed). Only the lease holder may do this.
create or replace function billing_usage_release(p jsonb)
returns jsonb language plpgsql set search_path = public as $$
declare n integer;
begin
  update billing_usage_batches b
  set status = case when x->'retry_in_seconds' is null or jsonb_typeof(x->'retry_in_seconds') = 'null' then 'failed' else 'pending' end,
      lease_until = case when jsonb_typeof(x->'retry_in_seconds') = 'number'
                         then now() + make_interval(secs => (x->>'retry_in_seconds')::double precision) end,
      lease_token = null,
      last_error = left(x->>'error', 500)
  from jsonb_array_elements(p->'batches') x
  where b.id = (x->>'id')::bigint and b.status = 'pending' and b.lease_token = (p->>'token')::uuid;
  get diagnostics n = row_count;
  return jsonb_build_object('released', n);
end $$;

-- {} -> { retried }: failed batches go back to pending (after the cause was fixed); they
-- keep their identifier, so any that Stripe did take are not counted twice.
create or replace function billing_usage_retry_failed(p jsonb)
returns jsonb language plpgsql set search_path = public as $$
declare n integer;
begin
  update billing_usage_batches set status = 'pending', lease_until = null, lease_token = null where status = 'failed';
  get diagnostics n = row_count;
  return jsonb_build_object('retried', n);
end $$;

-- { account_id, start, end } -> { recorded, reported, failed, records }: the ledger for
-- usage that occurred in [start, end).
create or replace function billing_usage_totals(p jsonb)
returns jsonb language sql stable set search_path = public as $$
  select jsonb_build_object(
    'recorded', coalesce(sum(r.quantity), 0),
    'reported', coalesce(sum(r.quantity) filter (where b.status = 'reported'), 0),
    'failed', coalesce(sum(r.quantity) filter (where b.status = 'failed'), 0),
    'records', count(*))
  from billing_usage_records r left join billing_usage_batches b on b.id = r.batch_id
  where r.account_id = p->>'account_id'
    and r.occurred_at >= (p->>'start')::timestamptz and r.occurred_at < (p->>'end')::timestamptz
$$;

select billing_restrict_functions();
