-- GET subscription's read, cheaper for the database (README, "Benchmarks"; measured with
-- pgbench at 3 clients: about 30% more calls per second of billing_get_account).
--
-- 1. billing_subscriptions_of becomes a `language sql` function without a SET clause, so
--    the planner inlines it into the query that calls it (a plpgsql set-returning function
--    runs as a separate executor, a tuplestore and a search_path switch on every call).
--    Without `set search_path` every name in it is schema-qualified; once inlined it is
--    planned inside its caller, whose search_path is fixed. "Which subscriptions belong to
--    an account" still lives here only.
-- 2. billing_get_account answers `json`, built as text (row_to_json, json_agg), instead of
--    a jsonb tree that Postgres then prints as text again. Same keys and values; clients
--    parse both alike (postgres.js and PostgREST).

create or replace function billing_subscriptions_of(p_account_id text)
returns setof public.billing_subscriptions language sql stable as $$
  select s.* from public.billing_subscriptions s
  where s.account_id = p_account_id
     or s.customer_id = (select a.stripe_customer_id from public.billing_accounts a where a.id = p_account_id);
$$;

-- The return type changes, which `create or replace` cannot do.
drop function billing_get_account(jsonb);

-- { account_id } -> { account: {...} | null, subscriptions: [...] }
create function billing_get_account(p jsonb)
returns json language plpgsql stable set search_path = public as $$
declare v_account_id text := p->>'account_id';
begin
  return json_build_object(
    'account', (select row_to_json(a) from billing_accounts a where a.id = v_account_id),
    'subscriptions', coalesce((select json_agg(s order by s.stripe_created desc)
                               from billing_subscriptions_of(v_account_id) s), '[]'::json));
end $$;

select billing_restrict_functions();
