-- Billing core: accounts, all of a customer's subscriptions, processed Stripe events.
-- Everything that must be atomic is a SQL function taking one jsonb argument `p` and
-- returning jsonb, so supabase-js (`rpc`) and a plain SQL driver call the same code.

create table if not exists billing_accounts (
  id                 text primary key,             -- 'user:<sub>' or 'org:<org id>'
  kind               text not null check (kind in ('user', 'organization')),
  stripe_customer_id text unique,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now()
);

-- Every subscription Stripe has for a customer, not only the latest. A row may arrive
-- before its account is linked (account_id null); reads join through the customer id.
create table if not exists billing_subscriptions (
  id                   text primary key,           -- Stripe subscription id
  customer_id          text not null,
  account_id           text,                       -- from the subscription's metadata, when present
  status               text not null,              -- Stripe's status
  price_id             text,
  product_id           text,
  quantity             integer,
  current_period_start timestamptz,
  current_period_end   timestamptz,
  cancel_at_period_end boolean not null default false,
  cancel_at            timestamptz,
  canceled_at          timestamptz,
  ended_at             timestamptz,
  trial_start          timestamptz,
  trial_end            timestamptz,
  past_due_since       timestamptz,                -- when the unpaid invoice was created: the grace period's start
  stripe_created       timestamptz not null,
  -- When the snapshot was read from Stripe (ms since epoch, taken before the read began).
  -- A snapshot older than the stored one is never applied: see billing_apply_event.
  snapshot_at          bigint not null,
  updated_at           timestamptz not null default now()
);
create index if not exists billing_subscriptions_customer_idx on billing_subscriptions (customer_id);
create index if not exists billing_subscriptions_account_idx on billing_subscriptions (account_id);

create table if not exists billing_stripe_events (
  id             text primary key,                 -- evt_...
  type           text not null,
  stripe_created timestamptz not null,
  outcome        text not null check (outcome in ('applied', 'ignored')),
  object_id      text,
  processed_at   timestamptz not null default now()
);

-- Supabase: only the service role may touch billing data (RLS on, no policies).
alter table billing_accounts enable row level security;
alter table billing_subscriptions enable row level security;
alter table billing_stripe_events enable row level security;

create or replace function billing_subscriptions_of(p_account_id text)
returns setof billing_subscriptions language sql stable set search_path = public as $$
  select s.* from billing_subscriptions s
  where s.account_id = p_account_id
     or s.customer_id = (select a.stripe_customer_id from billing_accounts a where a.id = p_account_id)
$$;

-- { account_id } -> { account: {...} | null, subscriptions: [...] }
create or replace function billing_get_account(p jsonb)
returns jsonb language sql stable set search_path = public as $$
  select jsonb_build_object(
    'account', (select to_jsonb(a) from billing_accounts a where a.id = p->>'account_id'),
    'subscriptions', coalesce((select jsonb_agg(to_jsonb(s) order by s.stripe_created desc)
                               from billing_subscriptions_of(p->>'account_id') s), '[]'::jsonb)
  )
$$;

-- { account_id, kind, customer_id } -> { customer_id }: links a Stripe customer to an
-- account once. The first link wins; the stored customer id is returned either way. A
-- customer already linked to another account is never moved (metadata is not proof).
create or replace function billing_link_customer(p jsonb)
returns jsonb language plpgsql set search_path = public as $$
declare stored text;
begin
  if exists (select 1 from billing_accounts
             where stripe_customer_id = p->>'customer_id' and id <> p->>'account_id') then
    select stripe_customer_id into stored from billing_accounts where id = p->>'account_id';
    return jsonb_build_object('customer_id', stored);
  end if;
  insert into billing_accounts (id, kind, stripe_customer_id)
  values (p->>'account_id', p->>'kind', p->>'customer_id')
  on conflict (id) do update
    set stripe_customer_id = coalesce(billing_accounts.stripe_customer_id, excluded.stripe_customer_id),
        updated_at = now()
  returning stripe_customer_id into stored;
  return jsonb_build_object('customer_id', stored);
end $$;

-- Stores a subscription snapshot unless the stored one was read later. Returns whether
-- anything a reader sees changed (reconcile reports those).
create or replace function billing_upsert_subscription(s jsonb)
returns boolean language plpgsql set search_path = public as $$
declare
  before jsonb;
  after jsonb;
begin
  select to_jsonb(t) - 'snapshot_at' - 'updated_at' into before
  from billing_subscriptions t where t.id = s->>'id' for update;
  insert into billing_subscriptions as t (
    id, customer_id, account_id, status, price_id, product_id, quantity,
    current_period_start, current_period_end, cancel_at_period_end, cancel_at, canceled_at,
    ended_at, trial_start, trial_end, past_due_since, stripe_created, snapshot_at, updated_at)
  values (
    s->>'id', s->>'customer_id', s->>'account_id', s->>'status', s->>'price_id', s->>'product_id',
    (s->>'quantity')::integer,
    (s->>'current_period_start')::timestamptz, (s->>'current_period_end')::timestamptz,
    coalesce((s->>'cancel_at_period_end')::boolean, false), (s->>'cancel_at')::timestamptz,
    (s->>'canceled_at')::timestamptz, (s->>'ended_at')::timestamptz,
    (s->>'trial_start')::timestamptz, (s->>'trial_end')::timestamptz,
    (s->>'past_due_since')::timestamptz, (s->>'stripe_created')::timestamptz,
    (s->>'snapshot_at')::bigint, now())
  on conflict (id) do update set
    customer_id = excluded.customer_id,
    account_id = coalesce(excluded.account_id, t.account_id),
    status = excluded.status, price_id = excluded.price_id, product_id = excluded.product_id,
    quantity = excluded.quantity,
    current_period_start = excluded.current_period_start, current_period_end = excluded.current_period_end,
    cancel_at_period_end = excluded.cancel_at_period_end, cancel_at = excluded.cancel_at,
    canceled_at = excluded.canceled_at, ended_at = excluded.ended_at,
    trial_start = excluded.trial_start, trial_end = excluded.trial_end,
    past_due_since = excluded.past_due_since, stripe_created = excluded.stripe_created,
    snapshot_at = excluded.snapshot_at, updated_at = now()
  where excluded.snapshot_at >= t.snapshot_at;
  select to_jsonb(t) - 'snapshot_at' - 'updated_at' into after
  from billing_subscriptions t where t.id = s->>'id';
  return before is distinct from after;
end $$;

-- Applies one Stripe event atomically:
-- { event: {id, type, created, object_id, outcome} | null,
--   link: {account_id, kind, customer_id} | null,
--   subscriptions: [snapshot, ...] }
-- -> { duplicate, applied: number of subscriptions whose stored state changed }
-- The event row is inserted first: a concurrent copy of the same event waits on its
-- primary key until this transaction ends, then sees it and does nothing. If this
-- transaction fails, no row is left, so Stripe's retry applies the event.
create or replace function billing_apply_event(p jsonb)
returns jsonb language plpgsql set search_path = public as $$
declare
  inserted text;
  snapshot jsonb;
  applied integer := 0;
begin
  if p->'event' is not null and jsonb_typeof(p->'event') = 'object' then
    insert into billing_stripe_events (id, type, stripe_created, outcome, object_id)
    values (p->'event'->>'id', p->'event'->>'type',
            to_timestamp((p->'event'->>'created')::bigint), p->'event'->>'outcome', p->'event'->>'object_id')
    on conflict (id) do nothing
    returning id into inserted;
    if inserted is null then
      return jsonb_build_object('duplicate', true, 'applied', 0);
    end if;
  end if;
  if p->'link' is not null and jsonb_typeof(p->'link') = 'object' then
    perform billing_link_customer(p->'link');
  end if;
  for snapshot in select * from jsonb_array_elements(coalesce(p->'subscriptions', '[]'::jsonb)) loop
    if billing_upsert_subscription(snapshot) then applied := applied + 1; end if;
  end loop;
  return jsonb_build_object('duplicate', false, 'applied', applied);
end $$;

-- {} -> [{ customer_id, account_id }]: every customer we know of, for reconcile.
create or replace function billing_list_customers(p jsonb)
returns jsonb language sql stable set search_path = public as $$
  select coalesce(jsonb_agg(x order by x->>'customer_id'), '[]'::jsonb) from (
    select jsonb_build_object('customer_id', c.customer_id,
                              'account_id', (select a.id from billing_accounts a where a.stripe_customer_id = c.customer_id)) as x
    from (select stripe_customer_id as customer_id from billing_accounts where stripe_customer_id is not null
          union select customer_id from billing_subscriptions) c
  ) y
$$;

-- Only the owner (and Supabase's service_role) may call the billing functions; on
-- Supabase, anon and authenticated would otherwise reach them through PostgREST. Every
-- migration that adds functions ends by calling this.
create or replace function billing_restrict_functions()
returns void language plpgsql set search_path = public as $$
declare fn regprocedure;
begin
  for fn in select p.oid::regprocedure from pg_proc p
            where p.pronamespace = 'public'::regnamespace and p.proname like 'billing\_%' loop
    execute format('revoke all on function %s from public', fn);
    if exists (select 1 from pg_roles where rolname = 'service_role') then
      execute format('grant execute on function %s to service_role', fn);
    end if;
  end loop;
end $$;

select billing_restrict_functions();
