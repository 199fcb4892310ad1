/** The Rpc over a plain Postgres connection (postgres.js), for DATABASE_URL. */
import postgres from 'postgres';
import { UnavailableError } from '../errors.ts';
import { assertFunctionName, type Rpc } from './rpc.ts';

// Errors that mean "the database could not be reached or went away": 503, retry later.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
  '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006',
]);

export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_CODES.has(code);
}

export function createSqlRpc(url: string, options: { max?: number } = {}): Rpc {
  const sql = postgres(url, {
    max: options.max ?? 3,
    idle_timeout: 20,
    connect_timeout: 5,
    // Supabase's pooler (transaction mode) does not keep prepared statements.
    prepare: false,
    onnotice: () => undefined,
  });
  return {
    async call<T>(fn: string, p: Record<string, unknown>): Promise<T> {
      assertFunctionName(fn);
      try {
        // postgres.js serialises the parameter as JSON itself (the server types it jsonb).
        const rows = await sql.unsafe(`select ${fn}($1::jsonb) as r`, [sql.json(p as postgres.JSONValue)]);
        return rows[0]?.r as T;
      } catch (err) {
        if (isConnectionError(err)) throw new UnavailableError('Database', { cause: err });
        throw err;
      }
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
