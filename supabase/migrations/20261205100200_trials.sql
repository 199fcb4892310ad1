-- One free trial per account, ever, held by a constraint rather than a read-then-write:
-- the first subscription of an account seen with a trial (webhook, billing_trial_claim) is
-- the account's trial; any later one that is still trialing has its trial ended at Stripe
-- (shared/trials.ts). Checkout only offers a trial to an account with no trial on record
-- (a courtesy read: two checkouts racing both offer it; the constraint settles it). A trial
-- is recorded when the subscription exists, so an abandoned checkout burns nothing.

create table if not exists billing_trials (
  account_id      text primary key,
  subscription_id text not null,
  started_at      timestamptz not null,
  recorded_at     timestamptz not null default now()
);
alter table billing_trials enable row level security;

-- { account_id, subscription_id, started_at } -> { subscription_id }: the subscription that
-- holds the account's trial (this one, when the account had none).
create or replace function billing_trial_claim(p jsonb)
returns jsonb language plpgsql set search_path = public as $$
declare
  v_owner text;
begin
  insert into billing_trials (account_id, subscription_id, started_at)
  values (p->>'account_id', p->>'subscription_id', (p->>'started_at')::timestamptz)
  on conflict (account_id) do nothing
  returning subscription_id into v_owner;
  if v_owner is null then
    -- A new statement: it sees the row of a concurrent claim that won (and committed).
    select subscription_id into v_owner from billing_trials where account_id = p->>'account_id';
  end if;
  return jsonb_build_object('subscription_id', v_owner);
end $$;

select billing_restrict_functions();
