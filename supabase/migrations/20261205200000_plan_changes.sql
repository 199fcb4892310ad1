-- Plan changes (POST subscription): a subscription's pending change, and a per-account lock
-- that serializes changes.
--
-- The pending change is what the subscription's schedule will do at its next phase (a
-- downgrade waiting for the period's end): read from Stripe with every snapshot, like the
-- rest of the row, so it converges under any order of events and disappears when Stripe
-- applies the phase (the same snapshot then shows the new price).

alter table billing_subscriptions
  add column if not exists pending_price_id     text,
  add column if not exists pending_product_id   text,
  add column if not exists pending_quantity     integer,
  add column if not exists pending_effective_at timestamptz;

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
    ended_at, trial_start, trial_end, past_due_since, stripe_created,
    pending_price_id, pending_product_id, pending_quantity, pending_effective_at,
    snapshot_at, updated_at)
  values (
    s->>'id', s->>'customer_id', s->>'account_id', s->>'status', s->>'price_id', s->>'product_id',
    (s->>'quantity')::integer,
    (s->>'current_period_start')::timestamptz, (s->>'current_period_end')::timestamptz,
    coalesce((s->>'cancel_at_period_end')::boolean, false), (s->>'cancel_at')::timestamptz,
    (s->>'canceled_at')::timestamptz, (s->>'ended_at')::timestamptz,
    (s->>'trial_start')::timestamptz, (s->>'trial_end')::timestamptz,
    (s->>'past_due_since')::timestamptz, (s->>'stripe_created')::timestamptz,
    s->>'pending_price_id', s->>'pending_product_id', (s->>'pending_quantity')::integer,
    (s->>'pending_effective_at')::timestamptz,
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
    pending_price_id = excluded.pending_price_id, pending_product_id = excluded.pending_product_id,
    pending_quantity = excluded.pending_quantity, pending_effective_at = excluded.pending_effective_at,
    snapshot_at = excluded.snapshot_at, updated_at = now()
  where excluded.snapshot_at >= t.snapshot_at;
  select to_jsonb(t) - 'snapshot_at' - 'updated_at' into after
  from billing_subscriptions t where t.id = s->>'id';
  return before is distinct from after;
end $$;

-- One plan change at a time per account: a change reads the subscription from Stripe, then
-- writes it (an update, or a schedule made and then given its phases), so two at once could
-- each act on what the other is replacing. A lease, not a transaction: the Stripe calls run
-- between the two database calls. It expires by itself if its holder dies.
create table if not exists billing_change_locks (
  account_id   text primary key,
  token        text not null,
  locked_until timestamptz not null
);
alter table billing_change_locks enable row level security;

-- { account_id, token, seconds } -> { locked }: true when the caller now holds the lock.
create or replace function billing_change_lock(p jsonb)
returns jsonb language plpgsql set search_path = public as $$
declare
  v_token text;
begin
  insert into billing_change_locks as l (account_id, token, locked_until)
  values (p->>'account_id', p->>'token', now() + make_interval(secs => (p->>'seconds')::integer))
  on conflict (account_id) do update set token = excluded.token, locked_until = excluded.locked_until
  where l.locked_until < now()
  returning token into v_token;
  return jsonb_build_object('locked', v_token is not null);
end $$;

-- { account_id, token } -> { unlocked }: gives the lock back if the caller still holds it.
create or replace function billing_change_unlock(p jsonb)
returns jsonb language sql set search_path = public as $$
  with gone as (delete from billing_change_locks where account_id = p->>'account_id' and token = p->>'token' returning 1)
  select jsonb_build_object('unlocked', exists (select 1 from gone))
$$;

select billing_restrict_functions();
