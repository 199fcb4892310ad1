/**
 * Who may call the billing functions after the migrations, on a database set up as
 * Supabase sets up its projects: default privileges that grant EXECUTE on every new
 * function to `anon` and `authenticated` (the roles of browser requests through the Data
 * API) and `service_role`. Only the service role (our functions' connection) may call them.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { migrate } from '../scripts/migrate.ts';
import { uid } from './helpers/stack.ts';

const ROLES = ['anon', 'authenticated', 'service_role'];
const name = `grants_${uid('db').replace(/\W/g, '_')}`.toLowerCase();
const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => undefined });
const url = inject('pgAdminUrl').replace(/\/[^/]*$/, `/${name}`);
let db: postgres.Sql;

beforeAll(async () => {
  // Roles belong to the cluster: created once, left for any later run.
  for (const role of ROLES) {
    await admin.unsafe(`do $$ begin create role ${role} nologin; exception when duplicate_object then null; end $$`);
  }
  await admin.unsafe(`create database ${name}`);
  db = postgres(url, { max: 1, onnotice: () => undefined });
  await db.unsafe(`alter default privileges in schema public grant execute on functions to ${ROLES.join(', ')}`);
  await migrate(url);
});

afterAll(async () => {
  await db?.end();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

describe('billing functions on a Supabase-style database', () => {
  it('only service_role may execute them; anon and authenticated may not, whatever the default privileges gave them', async () => {
    const rows = await db<{ fn: string; anon: boolean; authenticated: boolean; service_role: boolean }[]>`
      select p.oid::regprocedure::text as fn,
             has_function_privilege('anon', p.oid, 'execute') as anon,
             has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
             has_function_privilege('service_role', p.oid, 'execute') as service_role
      from pg_proc p where p.pronamespace = 'public'::regnamespace and p.proname like 'billing\\_%'
      order by 1`;
    expect(rows.map((r) => r.fn)).toContain('billing_get_account(jsonb)');
    expect(rows.filter((r) => r.anon || r.authenticated || !r.service_role)).toEqual([]);
  });
});
