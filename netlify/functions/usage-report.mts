/** Every minute: reports unreported usage to Stripe (the same code as `npm run usage:report`). */
import type { Config } from '@netlify/functions';
import { config as loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { reportHealthy } from '../../shared/usage/report.ts';
import { runUsageReport } from '../../shared/usage/run.ts';

export default async (): Promise<Response> => {
  const cfg = loadConfig();
  const log = createLogger({ function: 'usage-report' });
  // Scheduled functions get 30 s; stop claiming well before, so leases are released in time.
  const result = await runUsageReport(cfg, log, { timeBudgetMs: 20_000 });
  return new Response(null, { status: reportHealthy(result) ? 204 : 500 });
};

export const config: Config = { schedule: '* * * * *' };
