/** Nightly repair of stored subscriptions from Stripe (the same code as `npm run reconcile`). */
import type { Config } from '@netlify/functions';
import { config as loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { reconcile } from '../../shared/reconcile.ts';
import { getStore } from '../../shared/store/index.ts';

export default async (): Promise<Response> => {
  const cfg = loadConfig();
  const log = createLogger({ function: 'reconcile-nightly' });
  const report = await reconcile(cfg, getStore(cfg), log);
  log.info('reconcile_done', { customers: report.customers, changed: report.changed.length, failed: report.failed.length });
  return new Response(null, { status: report.failed.length ? 500 : 204 });
};

export const config: Config = { schedule: '@daily' };
