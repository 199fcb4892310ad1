/** The Rpc over a plain Postgres connection (postgres.js), for DATABASE_URL. */
import postgres from 'postgres';
import { UnavailableError } from '../errors.ts';
import { pgLink, tlsOfUrl, type PgLink, type PgLinkTarget } from './pg-link.ts';
import { assertFunctionName, QUERY_TIMEOUT_MS, type Rpc } from './rpc.ts';

// Errors that mean "the database could not be reached or went away": 503, retry later.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH',
  'CONNECT_TIMEOUT', 'QUERY_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED',
  '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006',
]);

export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_CODES.has(code);
}

/** `text` as a dollar-quoted SQL string constant, with a tag that does not occur in it. */
export function dollarQuoted(text: string): string {
  let tag = '$j$';
  for (let i = 0; text.includes(tag); i++) tag = `$j${i}$`;
  return `${tag}${text}${tag}`;
}

export function createSqlRpc(url: string, options: { max?: number } = {}): Rpc {
  // A URL that asks for TLS (production) connects through pg-link.ts: fewer round trips for
  // a cold instance, and a connection opened before the first query (preconnect).
  const link = tlsOfUrl(url);
  let parked: PgLink | undefined;
  const target = (o: postgres.ParsedOptions<Record<string, never>>): PgLinkTarget => ({
    host: o.host[0]!,
    port: o.port[0]!,
    user: o.user,
    password: typeof o.pass === 'string' ? o.pass : '',
    database: o.database,
    connection: Object.fromEntries(Object.entries(o.connection).map(([k, v]) => [k, String(v)])),
    tls: link!.tls,
    direct: link!.direct,
    ca: link!.ca,
    connectTimeoutMs: o.connect_timeout * 1000,
  });
  const socket = (o: postgres.ParsedOptions<Record<string, never>>) => {
    const s = parked && !parked.destroyed ? parked : pgLink(target(o));
    parked = undefined;
    return s as unknown as import('node:net').Socket;
  };
  const sql = postgres(link?.url ?? url, {
    ...(link ? { ssl: false, socket } : {}),
    max: options.max ?? 3,
    idle_timeout: 20,
    connect_timeout: 5,
    // postgres.js waits before reconnecting after failures, up to 20 s (3^n/100 s): while the
    // database is down every request would hang that long instead of answering 503. Retry at once, then at most 0.25 s.
    backoff: (retries: number) => Math.min(0.05 * (retries - 1), 0.25),
    // Supabase's pooler (transaction mode) does not keep prepared statements.
    prepare: false,
    // We send jsonb and get json or jsonb (parsed without it). The array-type lookup postgres.js
    // runs first on every new connection costs a round trip, and its failure (a reset right
    // then) is an unhandled rejection.
    fetch_types: false,
    onnotice: () => undefined,
  });
  return {
    async call<T>(fn: string, p: Record<string, unknown>): Promise<T> {
      assertFunctionName(fn);
      let timer: NodeJS.Timeout | undefined;
      try {
        // One round trip: with a bound parameter and `prepare: false`, postgres.js first has
        // the server describe the statement, waits, then binds and executes (two round trips).
        // A query without parameters is one simple-protocol message (transaction poolers
        // accept it); the JSON sits inside dollar quotes whose tag does not occur in it.
        const query = sql.unsafe(`select ${fn}(${dollarQuoted(JSON.stringify(p))}::jsonb) as r`);
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(Object.assign(new Error(`${fn} took too long`), { code: 'QUERY_TIMEOUT' })),
            QUERY_TIMEOUT_MS,
          );
        });
        const rows = await Promise.race([query, deadline]);
        return rows[0]?.r as T;
      } catch (err) {
        if (isConnectionError(err)) throw new UnavailableError('Database', { cause: err });
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => {
      parked?.destroy();
      parked = undefined;
      return sql.end({ timeout: 5 });
    },
    preconnect() {
      if (!link || parked) return;
      const p = (parked = pgLink(target(sql.options as postgres.ParsedOptions<Record<string, never>>), true));
      // Not taken (no query came): closed, as an idle connection would be.
      setTimeout(() => parked === p && (p.destroy(), (parked = undefined)), 10_000).unref();
    },
  };
}
