/** The Rpc over supabase-js (PostgREST `rpc`), for SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY. */
import type { WebSocketLikeConstructor } from '@supabase/realtime-js';
import { UnavailableError } from '../errors.ts';
import { nodeFetch } from '../node-fetch.ts';
import { assertFunctionName, QUERY_TIMEOUT_MS, type Rpc } from './rpc.ts';

/**
 * We only call `rpc`. supabase-js still builds a realtime client, which on Node 20 demands
 * a WebSocket implementation; this one is never used (realtime connects only on subscribe).
 */
class NoRealtimeSocket {
  constructor() {
    throw new Error('realtime is not used by the billing functions');
  }
}

/**
 * supabase-js is large, so it is imported on first use and only by deployments that use
 * it (netlify.toml keeps it out of the bundles as an external module).
 */
export async function createSupabaseRpc(url: string, serviceRoleKey: string, fetchImpl?: typeof fetch): Promise<Rpc> {
  const { createClient } = await import('@supabase/supabase-js');
  const client = createClient(url, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: NoRealtimeSocket as unknown as WebSocketLikeConstructor },
    // Our fetch over node:https takes the connection opened at the start of a cold request (preconnect).
    global: { fetch: fetchImpl ?? nodeFetch(url) },
  });
  return {
    async call<T>(fn: string, p: Record<string, unknown>): Promise<T> {
      assertFunctionName(fn);
      let result;
      try {
        result = await client.rpc(fn, { p }).abortSignal(AbortSignal.timeout(QUERY_TIMEOUT_MS));
      } catch (err) {
        throw new UnavailableError('Database', { cause: err });
      }
      const { data, error, status } = result;
      if (error) {
        // No HTTP answer (status 0), a gateway error or PostgREST's own 503: unreachable.
        if (status === 0 || status >= 502) throw new UnavailableError('Database', { cause: error });
        throw Object.assign(new Error(`rpc ${fn} failed`), { code: error.code });
      }
      return data as T;
    },
    close: async () => undefined,
  };
}
