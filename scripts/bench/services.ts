/**
 * The local services every benchmark section uses, started once per run, all on 127.0.0.1:
 * embedded Postgres (migrations applied), a throwaway redis-server behind the Upstash
 * bridge, the Stripe double (no webhook target: events are posted by the benchmarks), and a
 * JWKS server (ES256) for asymmetric tokens. `env()` is the environment the handlers read.
 */
import { generateKeyPair, exportJWK, SignJWT, type CryptoKey } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPostgres, type LocalPostgres } from '../../dev/postgres.ts';
import { startRedisServer } from '../../dev/redis/redis-server.ts';
import { startUpstashBridge, type UpstashBridge } from '../../dev/redis/upstash-bridge.ts';
import { startStripeDouble, type StripeDouble } from '../../dev/stripe-double/index.ts';
import { signDevToken } from '../../dev/token.ts';
import { CONFIG_KEYS, resetConfig } from '../../shared/config.ts';
import { migrate } from '../migrate.ts';
import { freePort } from './util.ts';

export const HS_SECRET = 'bench-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
export const WEBHOOK_SECRET = 'whsec_bench_secret_0123456789';
export const SERVICE_KEY = 'bench-service-key-0123456789abcdef';
const JWKS_KID = 'bench-es256';

/** Every variable the handlers read that a developer's shell might set: cleared for the run. */
const CONFIG_VARS = [...CONFIG_KEYS, 'LOG_LEVEL'];

export interface Claims {
  sub: string;
  org?: string;
  role?: string;
  email?: string;
}

export interface Services {
  databaseUrl: string;
  pgPort: number;
  /** Postgres's data directory (the cold-path benchmark turns TLS on there). */
  pgDir: string;
  bridge: UpstashBridge;
  double: StripeDouble;
  jwks: { url: string; port: number; sign(claims: Claims): Promise<string> };
  /** HS256 token (JWT_SECRET), the default deployment. */
  hsToken(claims: Claims): Promise<string>;
  /**
   * The handlers' environment: the real services directly, HS256 tokens, rate limits high
   * enough that a benchmark is never refused (the check itself still runs), logs off.
   */
  env(overrides?: Record<string, string | undefined>): Record<string, string>;
  /** Puts `env(overrides)` into this process's environment (the handlers read it there) and drops the cached config. */
  applyEnv(overrides?: Record<string, string | undefined>): void;
  /** A second Stripe double, for sections that move the double's clock. */
  startDouble(): Promise<StripeDouble>;
  stop(): Promise<void>;
}

export async function startServices(): Promise<Services> {
  const dir = mkdtempSync(join(tmpdir(), 'billing-bench-pg-'));
  const stops: Array<() => Promise<unknown>> = [async () => rmSync(dir, { recursive: true, force: true })];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => console.error('bench: cleanup failed:', err));
    stops.length = 0;
  };
  try {
    const [pg, redis] = await Promise.all([
      startLocalPostgres({ dir, port: await freePort(), persistent: false }) as Promise<LocalPostgres>,
      startRedisServer({ port: 0 }),
    ]);
    stops.push(() => pg.stop());
    stops.push(() => redis.stop());
    await pg.createDatabase('bench');
    const databaseUrl = pg.url('bench');
    await migrate(databaseUrl);

    const bridge = await startUpstashBridge({ redisUrl: redis.url, token: 'bench-token' });
    stops.push(() => bridge.close());
    const double = await startStripeDouble({ port: 0 });
    stops.push(() => double.close());
    const doubles: StripeDouble[] = [];
    stops.push(async () => Promise.all(doubles.map((d) => d.close())));

    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: JWKS_KID, alg: 'ES256', use: 'sig' };
    const jwksServer: Server = createServer((req, res) => {
      if (req.url === '/.well-known/jwks.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    stops.push(() => new Promise<void>((r) => { jwksServer.closeAllConnections(); jwksServer.close(() => r()); }));
    const jwksPort = (jwksServer.address() as { port: number }).port;

    const signEs = (c: Claims) =>
      new SignJWT({ ...(c.email ? { email: c.email } : {}), ...(c.org ? { org_id: c.org } : {}), ...(c.role ? { org_role: c.role } : {}) })
        .setProtectedHeader({ alg: 'ES256', kid: JWKS_KID, typ: 'JWT' })
        .setSubject(c.sub)
        .setIssuedAt()
        .setExpirationTime('2h')
        .sign(privateKey as CryptoKey);

    const env = (overrides: Record<string, string | undefined> = {}): Record<string, string> => {
      const base: Record<string, string | undefined> = {
        NODE_ENV: 'development',
        LOG_LEVEL: 'silent',
        URL: 'http://localhost:8888',
        JWT_SECRET: HS_SECRET,
        DATABASE_URL: databaseUrl,
        UPSTASH_REDIS_REST_URL: bridge.url,
        UPSTASH_REDIS_REST_TOKEN: bridge.token,
        // High limits: the limiter still runs its script on every request, it just never refuses.
        RATE_LIMIT_USER: '100000000/1m',
        RATE_LIMIT_ORG: '100000000/1h',
        STRIPE_SECRET_KEY: double.apiKey,
        STRIPE_API_BASE: double.url,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_PRICE_ID: 'price_basic_monthly',
        STRIPE_METER_ID: double.seed.meter,
        STRIPE_METER_EVENT_NAME: double.seed.meterEventName,
        BILLING_SERVICE_KEY: SERVICE_KEY,
        ...overrides,
      };
      return Object.fromEntries(Object.entries(base).filter((e): e is [string, string] => typeof e[1] === 'string'));
    };

    return {
      databaseUrl,
      pgPort: pg.port,
      pgDir: dir,
      bridge,
      double,
      jwks: { url: `http://127.0.0.1:${jwksPort}/.well-known/jwks.json`, port: jwksPort, sign: signEs },
      hsToken: (c) => signDevToken({ sub: c.sub, org: c.org, role: c.role, email: c.email, expiresIn: '2h' }, HS_SECRET),
      env,
      applyEnv(overrides = {}) {
        for (const k of CONFIG_VARS) delete process.env[k];
        Object.assign(process.env, env(overrides));
        resetConfig();
      },
      async startDouble() {
        const d = await startStripeDouble({ port: 0 });
        doubles.push(d);
        return d;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A child process's environment: PATH and friends, plus the handlers' variables. */
export function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'TZ'];
  const out: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) out[k] = process.env[k];
  return { ...out, ...vars };
}
