-- Only our functions' connection may call the billing functions. Revoking from PUBLIC was
-- not enough on Supabase: its default privileges grant EXECUTE on every new function to
-- `anon` and `authenticated` by name (the roles of browser requests through the Data API),
-- so anyone could call them through /rest/v1/rpc; only row-level security (on, with no
-- policies) kept the tables out of reach, since the functions run with the caller's rights.
-- Now those grants are revoked too, wherever the roles exist (tests/migration-grants.test.ts
-- sets a database up the way Supabase does).

create or replace function billing_restrict_functions()
returns void language plpgsql set search_path = public as $$
declare
  fn regprocedure;
  role text;
begin
  for fn in select p.oid::regprocedure from pg_proc p
            where p.pronamespace = 'public'::regnamespace and p.proname like 'billing\_%' loop
    execute format('revoke all on function %s from public', fn);
    foreach role in array array['anon', 'authenticated'] loop
      if exists (select 1 from pg_roles where rolname = role) then
        execute format('revoke all on function %s from %I', fn, role);
      end if;
    end loop;
    if exists (select 1 from pg_roles where rolname = 'service_role') then
      execute format('grant execute on function %s to service_role', fn);
    end if;
  end loop;
end $$;

select billing_restrict_functions();
