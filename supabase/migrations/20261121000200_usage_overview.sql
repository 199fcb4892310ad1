-- GET usage in one round trip: the account, its subscriptions each with the usage totals
-- of its own current period, and the totals of the calendar month given. The caller picks
-- the period (the best subscription's, or the month) with the same rules as GET subscription.
-- { account_id, month_start, month_end } -> { account, subscriptions: [{..., usage}], month }
create or replace function billing_usage_overview(p jsonb)
returns jsonb language sql stable set search_path = public as $$
  select jsonb_build_object(
    'account', (select to_jsonb(a) from billing_accounts a where a.id = p->>'account_id'),
    'subscriptions', coalesce((
      select jsonb_agg(to_jsonb(s) || jsonb_build_object('usage',
               billing_usage_totals(jsonb_build_object('account_id', p->>'account_id',
                                                       'start', s.current_period_start,
                                                       'end', s.current_period_end)))
             order by s.stripe_created desc)
      from billing_subscriptions_of(p->>'account_id') s), '[]'::jsonb),
    'month', billing_usage_totals(jsonb_build_object('account_id', p->>'account_id',
                                                     'start', p->>'month_start', 'end', p->>'month_end'))
  )
$$;

select billing_restrict_functions();
