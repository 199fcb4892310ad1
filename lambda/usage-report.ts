/**
 * AWS Lambda entry for the usage reporter, run every minute by an EventBridge schedule
 * (template.yaml); the same code as `npm run usage:report` and Netlify's usage-report.
 */
import { config as loadConfig } from '../shared/config.ts';
import type { LambdaContext, ScheduledEvent } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import { reportHealthy, type ReportResult } from '../shared/usage/report.ts';
import { runUsageReport } from '../shared/usage/run.ts';

/** Time kept back from the function's limit, so claimed batches are released before Lambda stops it. */
const MARGIN_MS = 10_000;

export async function handler(event: ScheduledEvent, context?: LambdaContext): Promise<Omit<ReportResult, 'errors'>> {
  const cfg = loadConfig();
  const log = createLogger({ function: 'usage-report', requestId: context?.awsRequestId, scheduledAt: event.time });
  const remaining = context?.getRemainingTimeInMillis?.() ?? 30_000;
  const { errors, ...result } = await runUsageReport(cfg, log, { timeBudgetMs: Math.max(1_000, remaining - MARGIN_MS) });
  // Anything but a normal stop fails the invocation, so it shows in the Errors metric.
  // Unreported usage stays pending and is retried next run.
  if (!reportHealthy(result)) {
    throw new Error(`usage report stopped: ${result.stopped} (${errors.length} error(s))`);
  }
  return result;
}
