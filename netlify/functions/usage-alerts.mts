/** Every minute: sends usage alerts not yet delivered to ALERT_WEBHOOK_URL, retrying what failed. */
import type { Config } from '@netlify/functions';
import { runUsageAlerts } from '../../shared/alerts/run.ts';
import { config as loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';

export default async (): Promise<Response> => {
  const cfg = loadConfig();
  // Scheduled functions get 30 s; an alert leased when it stops is re-sent after its lease.
  const result = await runUsageAlerts(cfg, createLogger({ function: 'usage-alerts' }), 20_000);
  return new Response(null, { status: result ? 204 : 500 });
};

export const config: Config = { schedule: '* * * * *' };
