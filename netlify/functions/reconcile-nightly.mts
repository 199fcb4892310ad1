/** Nightly repair of stored subscriptions from Stripe (the same code as `npm run reconcile`). */
import type { Config } from '@netlify/functions';
import { config as loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { reconcile } from '../../shared/reconcile.ts';
import { getStore } from '../../shared/store/index.ts';

/**
 * Netlify stops a scheduled function after 30 s. No customer is started after 20 s: the
 * 10 s left cover the one in flight at default Stripe and database timeouts. Whoever is not
 * reached tonight is reached tomorrow (the walk resumes where this one stopped).
 */
const TIME_BUDGET_MS = 20_000;

export default async (): Promise<Response> => {
  const cfg = loadConfig();
  const log = createLogger({ function: 'reconcile-nightly' });
  const report = await reconcile(cfg, getStore(cfg), log, { timeBudgetMs: TIME_BUDGET_MS });
  log.info('reconcile_done', { customers: report.customers, changed: report.changed.length, failed: report.failed.length, complete: report.complete });
  return new Response(null, { status: report.failed.length ? 500 : 204 });
};

export const config: Config = { schedule: '@daily' };
