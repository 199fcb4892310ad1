/**
 * The one thing a database client must do for us: call a billing SQL function with one
 * jsonb argument and return its result (json or jsonb), parsed. Two implementations: a SQL driver
 * (DATABASE_URL) and supabase-js (SUPABASE_URL); both run the same SQL.
 */
/**
 * A store call that takes longer counts as the database being unavailable (503), with
 * either client: postgres.js has no query timeout (and never settles a query sent in the
 * turn its connection is reset), and supabase-js none by default. A call cut off this way
 * may still commit; every caller's retry is idempotent (webhook events by id, usage by key).
 */
export const QUERY_TIMEOUT_MS = 5_000;

export interface Rpc {
  call<T>(fn: string, p: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
  /** Opens a connection now, for the first call (a cold instance's first request: shared/preconnect.ts). */
  preconnect?(): void;
}

/** Function names are ours and fixed; this keeps anything else out of the SQL text. */
export function assertFunctionName(fn: string): void {
  if (!/^billing_[a-z_]+$/.test(fn)) throw new Error(`not a billing function: ${fn}`);
}
