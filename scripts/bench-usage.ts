/**
 * Usage benchmark (not a test): ingests records through POST usage in batches of 1,000
 * (real Requests, over HTTP by default), then reports them to the Stripe double, against
 * an embedded Postgres with the migrations applied. Prints records/s beside a baseline
 * measured in the same run (the same rows inserted by one SQL statement), and the Stripe
 * calls made beside customers x windows. The double enforces Stripe's live-mode rate limits and
 * the reporter is paced as for a live key: the most meter events in one second is printed.
 *
 *   npx tsx scripts/bench-usage.ts [--records 200000] [--customers 200] [--hours 6]
 *                                  [--concurrency 4] [--direct]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { startLocalPostgres } from '../dev/postgres.ts';
import { startStripeDouble } from '../dev/stripe-double/index.ts';
import usage from '../functions/usage.ts';
import { config, resetConfig } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { getStore } from '../shared/store/index.ts';
import { METER_EVENT_PACE } from '../shared/usage/meter-events.ts';
import { runUsageReport } from '../shared/usage/run.ts';
import { serve } from '../dev/serve.ts';
import { freePort, pool } from './bench/util.ts';
import { migrate } from './migrate.ts';

const { values: a } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    customers: { type: 'string', default: '200' },
    hours: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '4' },
    direct: { type: 'boolean', default: false },
  },
});
const RECORDS = Number(a.records);
const CUSTOMERS = Number(a.customers);
const HOURS = Number(a.hours);
const CONCURRENCY = Number(a.concurrency);
const BATCH = 1000;
const SERVICE_KEY = 'bench-service-key-0123456789abcdef';
const GOAL_RECORDS_PER_S = 5000;

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const dir = mkdtempSync(join(tmpdir(), 'bench-usage-pg-'));
const pg = await startLocalPostgres({ dir, port: await freePort(), persistent: false });
const double = await startStripeDouble({ port: 0, rateLimits: 'live' });
let app: Awaited<ReturnType<typeof serve>> | undefined;
try {
  await pg.createDatabase('bench');
  const url = pg.url('bench');
  await migrate(url);
  Object.assign(process.env, {
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    DATABASE_URL: url,
    DATABASE_POOL_MAX: String(CONCURRENCY),
    BILLING_SERVICE_KEY: SERVICE_KEY,
    STRIPE_SECRET_KEY: double.apiKey,
    STRIPE_API_BASE: double.url,
    STRIPE_MAX_RETRIES: '0',
    STRIPE_METER_EVENT_NAME: double.seed.meterEventName,
    STRIPE_METER_ID: double.seed.meter,
    USAGE_REPORT_WINDOW_SECONDS: '3600',
  });
  delete process.env.UPSTASH_REDIS_REST_URL;
  resetConfig();
  const cfg = config();
  const store = getStore(cfg);

  // Customers, linked; records spread over the last HOURS hours (so HOURS+1 hour windows at most).
  const accounts = Array.from({ length: CUSTOMERS }, (_, i) => ({ accountId: `org:bench_${i}`, customer: `cus_bench_${i}` }));
  for (const acc of accounts) await store.linkCustomer({ account_id: acc.accountId, kind: 'organization', customer_id: acc.customer });
  const now = Math.floor(Date.now() / 1000);
  const records = Array.from({ length: RECORDS }, (_, i) => ({
    accountId: accounts[i % CUSTOMERS]!.accountId,
    quantity: 1 + (i % 5),
    idempotencyKey: `pv-${i.toString(36)}-${(i * 2654435761) % 1e9}`,
    timestamp: now - Math.floor((i / RECORDS) * HOURS * 3600),
  }));
  const cells = new Set(records.map((r) => `${r.accountId}|${Math.floor(r.timestamp / 3600)}`)).size;
  const expectedTotal = records.reduce((s, r) => s + r.quantity, 0);

  // Baseline: the same rows, one SQL statement, into a copy of the table with the same indexes.
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  await sql`create table bench_raw (like billing_usage_records including all)`;
  const rows = records.map((r) => ({ account_id: r.accountId, key: r.idempotencyKey, quantity: r.quantity, occurred_at: new Date(r.timestamp * 1000).toISOString() }));
  let t = performance.now();
  await sql`insert into bench_raw (account_id, idempotency_key, quantity, occurred_at)
            select account_id, key, quantity, occurred_at from jsonb_to_recordset(${sql.json(rows)}::jsonb)
              as x(account_id text, key text, quantity bigint, occurred_at timestamptz)`;
  const baselineMs = performance.now() - t;

  // Ingest through POST usage.
  const bodies: string[] = [];
  for (let i = 0; i < RECORDS; i += BATCH) bodies.push(JSON.stringify({ records: records.slice(i, i + BATCH) }));
  app = a.direct ? undefined : await serve({ '/api/stripe/usage': usage });
  const target = app ? `${app.url}/api/stripe/usage` : 'http://localhost/api/stripe/usage';
  let accepted = 0;
  const post = async (body: string) => {
    const req = new Request(target, { method: 'POST', body, headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' } });
    const res = app ? await fetch(req) : await usage(req, {});
    if (res.status !== 200) throw new Error(`POST usage answered ${res.status}: ${await res.text()}`);
    accepted += ((await res.json()) as { accepted: number }).accepted;
  };
  t = performance.now();
  await pool(bodies, CONCURRENCY, post);
  const ingestMs = performance.now() - t;

  // Report to the double.
  const callsBefore = double.requestLog.length;
  t = performance.now();
  const result = await runUsageReport(cfg, createLogger({ function: 'bench' }), {
    timeBudgetMs: Infinity,
    maxBatchesPerClaim: 500,
    maxCallsPerSecond: METER_EVENT_PACE.live,
  });
  const reportMs = performance.now() - t;
  const meterPosts = double.requestLog.slice(callsBefore).filter((e) => e.path === '/v1/billing/meter_events').length;
  const limits = double.rateLimits.stats();
  const atStripe = double.state.meterEvents.reduce((s, e) => s + Number(e.payload.value ?? 0), 0);
  await sql.end();
  await store.close();

  const ingestRate = rate(RECORDS, ingestMs);
  const baselineRate = rate(RECORDS, baselineMs);
  const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
  console.log(`usage benchmark: ${RECORDS} records, ${CUSTOMERS} customers over ${HOURS} h, batches of ${BATCH}, ${CONCURRENCY} concurrent ${app ? 'HTTP' : 'direct handler'} calls`);
  console.log(`  ingest    ${ingestRate} records/s (${(ingestMs / 1000).toFixed(2)} s, ${accepted} accepted)   goal >= ${GOAL_RECORDS_PER_S}: ${ok(ingestRate >= GOAL_RECORDS_PER_S && accepted === RECORDS)}`);
  console.log(`  baseline  ${baselineRate} rows/s (same rows, one INSERT ... SELECT, same indexes, ${(baselineMs / 1000).toFixed(2)} s)`);
  console.log(`  ratio     ingest / baseline = ${(ingestRate / baselineRate).toFixed(2)}`);
  console.log(`  report    ${result.reported} meter events in ${(reportMs / 1000).toFixed(2)} s, stopped: ${result.stopped}`);
  console.log(`  Stripe    ${meterPosts} meter event calls; customers x windows = ${cells}: ${ok(meterPosts <= cells)}`);
  console.log(`  rate      at most ${limits.peak.meterEvents} meter events in one second (Stripe's live limit ${double.rateLimits.limits?.meterEvents}, paced at ${METER_EVENT_PACE.live}); ${limits.refused} refused (429): ${ok(limits.refused === 0)}`);
  console.log(`  totals    Stripe holds ${atStripe}, recorded ${expectedTotal}: ${ok(atStripe === expectedTotal)}`);
} finally {
  await app?.close();
  await double.close();
  await pg.stop();
  rmSync(dir, { recursive: true, force: true });
}
