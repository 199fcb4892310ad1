-- {} -> {}: called once on the connection a function instance opens as it starts
-- (shared/endpoint.ts, warmUp). Postgres compiles each plpgsql function and plans its
-- queries once per connection, the first time they run; running the reads here, while the
-- instance is still loading its code, takes that off the first request. It reads an account
-- that cannot exist (the empty id) and writes nothing.
create or replace function billing_warm(p jsonb)
returns jsonb language plpgsql stable set search_path = public as $$
begin
  perform billing_get_account(jsonb_build_object('account_id', ''));
  perform billing_usage_overview(jsonb_build_object('account_id', '', 'month_start', now(), 'month_end', now()));
  return '{}'::jsonb;
end $$;

select billing_restrict_functions();
