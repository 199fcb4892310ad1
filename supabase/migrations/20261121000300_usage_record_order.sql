-- billing_usage_record, now inserting in key order: concurrent batches sharing keys in
-- different orders deadlocked (tests/races/usage.test.ts).
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
    -- One order for every caller: batches that share keys wait for each other on the
    -- unique index instead of deadlocking (40P01) when they list the keys in other orders.
    order by i.account_id, i.key
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

select billing_restrict_functions();
