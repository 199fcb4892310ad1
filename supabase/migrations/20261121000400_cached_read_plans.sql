-- The reads behind GET subscription and GET usage, as plpgsql. Postgres (before 18) plans
-- the body of a `language sql` function that it does not inline (ours set search_path,
-- so none is) again on every call; plpgsql keeps each statement's plan for the life of the
-- connection. Same answers as before, at about a third of the database's CPU per call
-- (README, "Benchmarks").

create or replace function billing_subscriptions_of(p_account_id text)
returns setof billing_subscriptions language plpgsql stable set search_path = public as $$
begin
  return query
  select s.* from billing_subscriptions s
  where s.account_id = p_account_id
     or s.customer_id = (select a.stripe_customer_id from billing_accounts a where a.id = p_account_id);
end $$;

-- { account_id } -> { account: {...} | null, subscriptions: [...] }
create or replace function billing_get_account(p jsonb)
returns jsonb language plpgsql stable set search_path = public as $$
declare v_account_id text := p->>'account_id';
begin
  return jsonb_build_object(
    'account', (select to_jsonb(a) from billing_accounts a where a.id = v_account_id),
    'subscriptions', coalesce((select jsonb_agg(to_jsonb(s) order by s.stripe_created desc)
                               from billing_subscriptions_of(v_account_id) s), '[]'::jsonb));
end $$;

-- { account_id, start, end } -> { recorded, reported, failed, records }: the ledger for
-- usage that occurred in [start, end).
create or replace function billing_usage_totals(p jsonb)
returns jsonb language plpgsql stable set search_path = public as $$
declare
  v_account_id text := p->>'account_id';
  v_start timestamptz := (p->>'start')::timestamptz;
  v_end timestamptz := (p->>'end')::timestamptz;
begin
  return (
    select jsonb_build_object(
      'recorded', coalesce(sum(r.quantity), 0),
      'reported', coalesce(sum(r.quantity) filter (where b.status = 'reported'), 0),
      'failed', coalesce(sum(r.quantity) filter (where b.status = 'failed'), 0),
      'records', count(*))
    from billing_usage_records r left join billing_usage_batches b on b.id = r.batch_id
    where r.account_id = v_account_id and r.occurred_at >= v_start and r.occurred_at < v_end);
end $$;

-- { account_id, month_start, month_end } -> { account, subscriptions: [{..., usage}], month }
create or replace function billing_usage_overview(p jsonb)
returns jsonb language plpgsql stable set search_path = public as $$
declare v_account_id text := p->>'account_id';
begin
  return jsonb_build_object(
    'account', (select to_jsonb(a) from billing_accounts a where a.id = v_account_id),
    'subscriptions', coalesce((
      select jsonb_agg(to_jsonb(s) || jsonb_build_object('usage',
               billing_usage_totals(jsonb_build_object('account_id', v_account_id,
                                                       'start', s.current_period_start,
                                                       'end', s.current_period_end)))
             order by s.stripe_created desc)
      from billing_subscriptions_of(v_account_id) s), '[]'::jsonb),
    'month', billing_usage_totals(jsonb_build_object('account_id', v_account_id,
                                                     'start', p->>'month_start', 'end', p->>'month_end')));
end $$;

select billing_restrict_functions();
