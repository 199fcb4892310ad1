/**
 * The one thing a database client must do for us: call a billing SQL function with one
 * jsonb argument and return its result (json or jsonb), parsed. Two implementations: a SQL driver
 * (DATABASE_URL) and supabase-js (SUPABASE_URL); both run the same SQL.
 */
export interface Rpc {
  call<T>(fn: string, p: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** Function names are ours and fixed; this keeps anything else out of the SQL text. */
export function assertFunctionName(fn: string): void {
  if (!/^billing_[a-z_]+$/.test(fn)) throw new Error(`not a billing function: ${fn}`);
}
