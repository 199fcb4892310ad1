-- The nightly reconcile runs under the platform's time limit (Netlify's scheduled functions:
-- 30 s), so one run may not reach every customer. It walks customers in id order, a page at a
-- time, and keeps here the last one it reconciled; the next run starts after it and wraps
-- around, so every customer is reached within a few runs instead of the tail never.

create table if not exists billing_reconcile_state (
  id           boolean primary key default true check (id),  -- a single row
  resume_after text not null,                                 -- the last customer reconciled
  updated_at   timestamptz not null default now()
);
alter table billing_reconcile_state enable row level security;

-- { after?, through?, limit? } -> [{ customer_id, account_id }]: known customers (linked, or
-- seen on a subscription) in id order, after `after` and up to `through` inclusive, at most
-- `limit`; without them, all of them (as before).
create or replace function billing_list_customers(p jsonb)
returns jsonb language sql stable set search_path = public as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'customer_id', c.customer_id,
           'account_id', (select a.id from billing_accounts a where a.stripe_customer_id = c.customer_id))
         order by c.customer_id), '[]'::jsonb)
  from (
    select k.customer_id from (
      select stripe_customer_id as customer_id from billing_accounts where stripe_customer_id is not null
      union select customer_id from billing_subscriptions) k
    where (p->>'after' is null or k.customer_id > p->>'after')
      and (p->>'through' is null or k.customer_id <= p->>'through')
    order by k.customer_id
    limit (p->>'limit')::integer
  ) c
$$;

-- {} -> { customer_id }: where the last run stopped (null: start from the first customer).
create or replace function billing_reconcile_position(p jsonb)
returns jsonb language sql stable set search_path = public as $$
  select jsonb_build_object('customer_id', (select resume_after from billing_reconcile_state))
$$;

-- { customer_id } -> { customer_id }: the customer just reconciled; the next run starts after it.
create or replace function billing_reconcile_advance(p jsonb)
returns jsonb language sql set search_path = public as $$
  insert into billing_reconcile_state (id, resume_after) values (true, p->>'customer_id')
  on conflict (id) do update set resume_after = excluded.resume_after, updated_at = now()
  returning jsonb_build_object('customer_id', resume_after)
$$;

select billing_restrict_functions();
