/**
 * AWS Lambda entry for the usage alert sender, run every minute by an EventBridge schedule
 * (template.yaml); the same code as Netlify's usage-alerts.
 */
import { runUsageAlerts } from '../shared/alerts/run.ts';
import type { DeliveryResult } from '../shared/alerts/deliver.ts';
import { config as loadConfig } from '../shared/config.ts';
import type { LambdaContext, ScheduledEvent } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';

const MARGIN_MS = 10_000;

export async function handler(event: ScheduledEvent, context?: LambdaContext): Promise<DeliveryResult> {
  const cfg = loadConfig();
  const log = createLogger({ function: 'usage-alerts', requestId: context?.awsRequestId, scheduledAt: event.time });
  const remaining = context?.getRemainingTimeInMillis?.() ?? 30_000;
  const result = await runUsageAlerts(cfg, log, Math.max(1_000, remaining - MARGIN_MS));
  // A failed run shows in the Errors metric; undelivered alerts wait for the next one.
  if (!result) throw new Error('usage alerts: the sender failed (see the log)');
  return result;
}
