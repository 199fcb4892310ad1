/**
 * PostgREST is on neither npm nor Debian here, so supabase-js's `global.fetch` is routed
 * to this: it answers POST /rest/v1/rpc/<fn> by calling the same SQL function on the real
 * Postgres, as PostgREST would (JSON result, PostgREST-shaped errors).
 */
import postgres from 'postgres';

export function postgrestFetch(databaseUrl: string): { fetch: typeof fetch; calls: string[]; close(): Promise<void> } {
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => undefined });
  const calls: string[] = [];
  const impl = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const match = /\/rest\/v1\/rpc\/([a-z_]+)$/.exec(new URL(req.url).pathname);
    if (req.method !== 'POST' || !match) {
      return Response.json({ code: 'PGRST404', message: 'not found' }, { status: 404 });
    }
    const fn = match[1]!;
    calls.push(fn);
    if (!req.headers.get('authorization')?.startsWith('Bearer ') || !req.headers.get('apikey')) {
      return Response.json({ code: 'PGRST301', message: 'JWT required' }, { status: 401 });
    }
    const args = (await req.json()) as { p: postgres.JSONValue };
    try {
      const rows = await sql.unsafe(`select ${fn}($1::jsonb) as r`, [sql.json(args.p)]);
      return Response.json(rows[0]?.r ?? null);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === 'ECONNREFUSED') throw new TypeError('fetch failed');
      return Response.json({ code: e.code ?? 'XX000', message: e.message ?? 'error', details: null, hint: null }, { status: 400 });
    }
  };
  return { fetch: impl as typeof fetch, calls, close: () => sql.end() };
}

/**
 * The same database behind both store clients, for contract tests: `stores.sql` (the SQL
 * driver) and `stores.supabase` (supabase-js routed here). Fill `stores` in beforeAll.
 */
export async function bothStores(databaseUrl: string) {
  const { parseConfig } = await import('../../shared/config.ts');
  const { createStore } = await import('../../shared/store/index.ts');
  const rest = postgrestFetch(databaseUrl);
  const stores = {
    sql: createStore(parseConfig({ DATABASE_URL: databaseUrl })),
    supabase: createStore(parseConfig({ SUPABASE_URL: 'http://supabase.local', SUPABASE_SERVICE_ROLE_KEY: 'service-role-key' }), rest.fetch),
  };
  return {
    stores,
    calls: rest.calls,
    close: async () => {
      await Promise.all(Object.values(stores).map((s) => s.close()));
      await rest.close();
    },
  };
}
