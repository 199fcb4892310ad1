/** The reporter wired to the configured store and Stripe: what the scheduled function and `npm run usage:report` run. */
import { required, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { getStore } from '../store/index.ts';
import { stripeClient } from '../stripe.ts';
import { meterEventPace } from './meter-events.ts';
import { DEFAULT_REPORT_OPTIONS, emptyResult, reportUsage, type ReportOptions, type ReportResult } from './report.ts';

/** Reports now; without a meter (STRIPE_METER_EVENT_NAME) it sends nothing and says `off`. */
export async function runUsageReport(cfg: Config, log: Logger, overrides: Partial<ReportOptions> = {}): Promise<ReportResult> {
  const eventName = cfg.STRIPE_METER_EVENT_NAME;
  if (!eventName) {
    // A deployment without metered billing: any usage recorded stays pending, not lost.
    log.warn('usage_report_off', { reason: 'STRIPE_METER_EVENT_NAME is not set' });
    return { ...emptyResult(), stopped: 'off' };
  }
  const options: ReportOptions = {
    ...DEFAULT_REPORT_OPTIONS,
    eventName,
    windowSeconds: cfg.USAGE_REPORT_WINDOW_SECONDS,
    leaseSeconds: cfg.USAGE_REPORT_LEASE_SECONDS,
    concurrency: cfg.USAGE_REPORT_CONCURRENCY,
    maxCallsPerSecond: meterEventPace(required('STRIPE_SECRET_KEY')),
    ...overrides,
  };
  return reportUsage({ store: getStore(cfg), stripe: stripeClient(cfg), log }, options);
}
