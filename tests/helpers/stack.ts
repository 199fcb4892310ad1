/**
 * Per test file: a fresh database cloned from the migrated template, an Upstash bridge
 * over the run's real redis-server, and the environment the handlers read. Handlers are
 * then called through their real HTTP entry point with real `Request`s.
 */
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { startUpstashBridge } from '../../dev/redis/upstash-bridge.ts';
import { signDevToken, type TokenClaims } from '../../dev/token.ts';
import { resetConfig } from '../../shared/config.ts';
import type { Handler } from '../../shared/endpoint.ts';
import './provided.ts';

export const TEST_JWT_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

export interface Stack {
  databaseUrl: string;
  bridge: Awaited<ReturnType<typeof startUpstashBridge>>;
  /** Applies env changes for the handlers (undefined deletes) and drops the cached config. */
  setEnv(vars: Record<string, string | undefined>): void;
  sql: postgres.Sql;
  stop(): Promise<void>;
}

export async function startStack(env: Record<string, string | undefined> = {}): Promise<Stack> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => undefined });
  // Cloning a template fails while another clone of it is starting: retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.unsafe(`create database ${name} template ${inject('pgTemplate')}`);
      break;
    } catch (err) {
      if (attempt > 20) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
    }
  }
  await admin.end();
  const databaseUrl = inject('pgAdminUrl').replace(/\/[^/]*$/, `/${name}`);
  const bridge = await startUpstashBridge({ redisUrl: inject('redisUrl'), token: `tok_${name}` });
  const setEnv = (vars: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vars)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetConfig();
  };
  setEnv({
    NODE_ENV: 'test',
    URL: 'https://app.example.com',
    JWT_SECRET: TEST_JWT_SECRET,
    DATABASE_URL: databaseUrl,
    UPSTASH_REDIS_REST_URL: bridge.url,
    UPSTASH_REDIS_REST_TOKEN: bridge.token,
    ...env,
  });
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => undefined });
  return {
    databaseUrl,
    bridge,
    setEnv,
    sql,
    async stop() {
      await sql.end();
      await bridge.close();
    },
  };
}

/** A unique id per call, so tests never share rate-limit keys or accounts. */
export const uid = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

export const tokenFor = (claims: TokenClaims, secret = TEST_JWT_SECRET) => signDevToken(claims, secret);

export interface Call {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the wire, asserted by tests
  text: string;
}

/** Calls a handler the way the platform does: a real Request, the real handler. */
export async function call(
  handler: Handler,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Call> {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const res = await handler(new Request(`http://localhost:8888${path}`, { method, headers, body }), {});
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
