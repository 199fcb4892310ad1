/**
 * AWS Lambda entry for the nightly repair of stored subscriptions from Stripe, run by an
 * EventBridge schedule (template.yaml); the same code as `npm run reconcile` and Netlify's
 * reconcile-nightly.
 */
import { config as loadConfig } from '../shared/config.ts';
import type { LambdaContext, ScheduledEvent } from '../shared/lambda.ts';
import { createLogger } from '../shared/log.ts';
import { reconcile } from '../shared/reconcile.ts';
import { getStore } from '../shared/store/index.ts';

/** Time kept back from the function's limit for the customer in flight (Stripe and database timeouts). */
const MARGIN_MS = 30_000;

export interface ReconcileSummary {
  customers: number;
  subscriptions: number;
  changed: number;
  failed: number;
  /** false when the time ran out first; the next run goes on where this one stopped. */
  complete: boolean;
}

export async function handler(event: ScheduledEvent, context?: LambdaContext): Promise<ReconcileSummary> {
  const cfg = loadConfig();
  const log = createLogger({ function: 'reconcile-nightly', requestId: context?.awsRequestId, scheduledAt: event.time });
  const remaining = context?.getRemainingTimeInMillis?.() ?? 900_000;
  const report = await reconcile(cfg, getStore(cfg), log, { timeBudgetMs: Math.max(1_000, remaining - MARGIN_MS) });
  const summary = {
    customers: report.customers,
    subscriptions: report.subscriptions,
    changed: report.changed.length,
    failed: report.failed.length,
    complete: report.complete,
  };
  log.info('reconcile_done', { ...summary });
  // A failed invocation shows in the function's Errors metric (alarm on it); the customers
  // that did succeed are already stored, and the next run repairs the rest.
  if (summary.failed > 0) throw new Error(`reconcile: ${summary.failed} of ${summary.customers} customers failed`);
  return summary;
}
