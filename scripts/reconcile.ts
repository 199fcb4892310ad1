/**
 * npm run reconcile: repairs stored subscriptions from Stripe and prints what changed. It has
 * no time limit: it reaches every customer, starting where the last run (nightly or not) stopped.
 * Reads the same environment as the functions (process env, then .env).
 */
import { loadDotEnv } from '../dev/dotenv.ts';
import { config } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { reconcile } from '../shared/reconcile.ts';
import { getStore } from '../shared/store/index.ts';

for (const [k, v] of Object.entries(loadDotEnv())) process.env[k] ??= v;
const cfg = config();
const store = getStore(cfg);
const report = await reconcile(cfg, store, createLogger({ function: 'reconcile' }));
for (const c of report.changed) {
  console.log(`changed ${c.customerId} (${c.accountId ?? 'unlinked'}): ${c.statuses.join(', ')}`);
}
for (const f of report.failed) console.log(`FAILED ${f.customerId}: ${f.error}`);
console.log(`reconcile: ${report.customers} customers, ${report.subscriptions} subscriptions, ${report.changed.length} changed, ${report.failed.length} failed`);
await store.close();
process.exitCode = report.failed.length ? 1 : 0;
