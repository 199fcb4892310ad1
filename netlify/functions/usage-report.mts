/** Every minute: reports unreported usage to Stripe (the same code as `npm run usage:report`). */
import type { Config } from '@netlify/functions';
import { config as loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { runUsageReport } from '../../shared/usage/run.ts';

export default async (): Promise<Response> => {
  const cfg = loadConfig();
  const log = createLogger({ function: 'usage-report' });
  if (!cfg.STRIPE_METER_EVENT_NAME) {
    // A deployment without metered billing; any usage recorded stays pending, not lost.
    log.warn('usage_report_off', { reason: 'STRIPE_METER_EVENT_NAME is not set' });
    return new Response(null, { status: 204 });
  }
  // Scheduled functions get 30 s; stop claiming well before, so leases are released in time.
  const result = await runUsageReport(cfg, log, { timeBudgetMs: 20_000 });
  const healthy = result.stopped === 'done' || result.stopped === 'time_budget';
  return new Response(null, { status: healthy ? 204 : 500 });
};

export const config: Config = { schedule: '* * * * *' };
