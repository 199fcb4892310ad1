/**
 * Applies supabase/migrations/*.sql in order to DATABASE_URL, once each (tracked in
 * billing_schema_migrations). On Supabase, `supabase db push` applies the same files.
 * Usage: DATABASE_URL=postgres://... npm run migrate
 */
import postgres from 'postgres';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIGRATIONS = fileURLToPath(new URL('../supabase/migrations/', import.meta.url));

export async function migrate(url: string): Promise<string[]> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    await sql`create table if not exists billing_schema_migrations (name text primary key, applied_at timestamptz not null default now())`;
    // One migrator at a time (parallel test workers, two dev servers).
    await sql`select pg_advisory_lock(hashtext('billing_schema_migrations'))`;
    const done = new Set((await sql<{ name: string }[]>`select name from billing_schema_migrations`).map((r) => r.name));
    const applied: string[] = [];
    for (const name of readdirSync(MIGRATIONS).filter((f) => f.endsWith('.sql')).sort()) {
      if (done.has(name)) continue;
      const text = readFileSync(join(MIGRATIONS, name), 'utf8');
      await sql.begin(async (tx) => {
        await tx.unsafe(text);
        await tx`insert into billing_schema_migrations (name) values (${name})`;
      });
      applied.push(name);
    }
    await sql`select pg_advisory_unlock(hashtext('billing_schema_migrations'))`;
    return applied;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is required (postgres://user:password@host:5432/db)');
    process.exit(2);
  }
  const applied = await migrate(url);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
}
