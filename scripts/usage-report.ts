/**
 * npm run usage:report: reports unreported usage to Stripe now, the same code the
 * scheduled `usage-report` function runs every minute, until nothing is left.
 *
 *   npm run usage:report                    # report everything pending
 *   npm run usage:report -- --retry-failed  # first put batches Stripe refused back to pending
 *   npm run usage:report -- --max-seconds 60
 *
 * Reads the same environment as the functions (process env, then .env). With neither a
 * database nor a Stripe key configured, it reports against the `npm run dev` stack.
 */
import { parseArgs } from 'node:util';
import { loadDotEnv } from '../dev/dotenv.ts';
import { config, ConfigError } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { getStore } from '../shared/store/index.ts';
import { runUsageReport } from '../shared/usage/run.ts';

const { values: args } = parseArgs({
  options: { 'retry-failed': { type: 'boolean', default: false }, 'max-seconds': { type: 'string' } },
});

for (const [k, v] of Object.entries(loadDotEnv())) process.env[k] ??= v;
const env = process.env;
if (!env.DATABASE_URL && !env.SUPABASE_URL && !env.STRIPE_SECRET_KEY && env.NODE_ENV !== 'production') {
  // What `npm run dev` starts (dev/start.ts): embedded Postgres and the Stripe double.
  env.DATABASE_URL = `postgres://postgres:postgres@127.0.0.1:${env.DEV_POSTGRES_PORT ?? 54329}/postgres`;
  env.STRIPE_SECRET_KEY = 'sk_test_local_double';
  env.STRIPE_API_BASE = `http://127.0.0.1:${env.DEV_STRIPE_PORT ?? 12111}`;
  env.STRIPE_METER_EVENT_NAME ??= 'tracked_events';
  console.log(`No DATABASE_URL or STRIPE_SECRET_KEY: using the npm run dev stack (${env.DATABASE_URL}, ${env.STRIPE_API_BASE})`);
}

let cfg;
try {
  cfg = config();
  if (!cfg.STRIPE_METER_EVENT_NAME) throw new ConfigError('STRIPE_METER_EVENT_NAME', 'is required to report usage (the meter\'s event name)');
} catch (err) {
  console.error(`Configuration error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
const store = getStore(cfg);
const maxSeconds = args['max-seconds'] === undefined ? Infinity : Number(args['max-seconds']);
if (!(maxSeconds > 0)) {
  console.error('--max-seconds must be a positive number');
  process.exit(2);
}
if (args['retry-failed']) console.log(`retrying ${await store.retryFailedUsage()} failed batch(es)`);

const r = await runUsageReport(cfg, createLogger({ function: 'usage-report' }), { timeBudgetMs: maxSeconds * 1000 });
console.log(
  `usage:report ${r.stopped}: ${r.claimed} batch(es) claimed, ${r.reported} reported (${r.quantity} units; ` +
    `${r.duplicates} Stripe already had), ${r.deferred} left pending, ${r.failed} refused by Stripe, ${r.stripeCalls} Stripe call(s)`,
);
for (const e of r.errors) console.log(`  error: ${e}`);
if (r.failed) console.log('  refused batches keep their identifier; after fixing the cause: npm run usage:report -- --retry-failed');
await store.close();
process.exitCode = r.stopped === 'done' ? 0 : 1;
