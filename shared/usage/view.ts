/**
 * GET usage: the account's usage in its current billing period, from our ledger (recorded,
 * reported to Stripe, pending), against the plan's limits (catalogue.ts); optionally beside
 * Stripe's own meter event summaries for the same period, so the two can be compared.
 */
import type { StripeUsage, Usage, UsageAlert } from '../../client/billing-client.ts';
import { accessFor } from '../access.ts';
import type { Principal } from '../auth.ts';
import { planOfAccount } from '../catalogue.ts';
import { required, type Config } from '../config.ts';
import { describeError, type Logger } from '../log.ts';
import { getStore, type Store, type UsageAlertRow, type UsageOverview } from '../store/index.ts';
import { limitsView } from './limits.ts';
import { calendarMonth, minuteAligned, usagePeriod, type UsagePeriod } from './period.ts';

/** What GET usage reads (one round trip), so it can run beside the rate-limit check. */
export const usageRead = (store: Store, accountId: string, nowMs = Date.now()) => store.usageOverview(accountId, calendarMonth(nowMs));

const sameInstant = (a: string, b: string) => Date.parse(a) === Date.parse(b);

/** The period's alerts (the read returns those of every running period). */
const alertsOf = (rows: UsageAlertRow[], period: UsagePeriod): UsageAlert[] =>
  rows
    .filter((a) => sameInstant(a.period_start, period.start) && sameInstant(a.period_end, period.end))
    .map((a) => ({ feature: a.feature, threshold: a.threshold, used: a.used, limit: a.limit, at: new Date(a.created_at).toISOString() }));

export async function usageView(cfg: Config, log: Logger, overview: UsageOverview, principal: Principal, withStripe: boolean): Promise<Usage> {
  // A subscription that no longer grants access (canceled now, unpaid) has no current
  // period to show: the calendar month is used, as for an account that never subscribed.
  // The same rules decide the period limits are enforced in (billing_usage_period in SQL).
  const access = accessFor(overview.subscriptions, cfg.PAST_DUE_GRACE_DAYS);
  const subscription = (access.hasAccess && overview.subscriptions.find((s) => s.id === access.subscription?.id)) || null;
  // Trials are left out: the plan's interval after a trial is not the trial's length.
  const renewing = access.state === 'active' || access.state === 'past_due';
  const period = usagePeriod(subscription, Date.now(), renewing);
  const customerId = overview.account?.stripe_customer_id ?? subscription?.customer_id ?? null;
  const totals =
    period.source === 'calendar_month' || !subscription
      ? overview.month
      : period.source === 'subscription'
        ? subscription.usage
        : // Rare (a renewal webhook is late): the estimated period's totals cost a second read.
          await getStore(cfg).usageTotals(principal.accountId, period.start, period.end);
  const stripe = withStripe ? await stripeUsage(cfg, log, customerId, period) : undefined;
  const catalogue = cfg.catalogue;
  const plan = planOfAccount(catalogue, { hasAccess: access.hasAccess, productId: subscription?.product_id ?? null });
  const priceId = subscription?.price_id ?? null;
  const included = plan?.limits[catalogue.meteredFeature]?.limit ?? 0;
  return {
    accountId: principal.accountId,
    accountType: principal.accountKind,
    customerId,
    period,
    plan: plan || subscription ? { key: plan?.key ?? null, name: plan?.name ?? priceId, priceId } : null,
    recorded: totals.recorded,
    reported: totals.reported,
    pending: totals.recorded - totals.reported,
    failed: totals.failed,
    meteredFeature: catalogue.meteredFeature,
    included,
    overage: Math.max(0, totals.recorded - included),
    features: plan?.features ?? {},
    limits: limitsView(plan, catalogue, totals, period.end),
    alerts: alertsOf(overview.alerts, period),
    ...(stripe ? { stripe } : {}),
  };
}

async function stripeUsage(cfg: Config, log: Logger, customerId: string | null, period: UsagePeriod): Promise<StripeUsage> {
  const meterId = required('STRIPE_METER_ID');
  const { start, end } = minuteAligned(period);
  const base = { meterId, customerId, start: new Date(start * 1000).toISOString(), end: new Date(end * 1000).toISOString() };
  if (!customerId) return { ...base, aggregatedValue: 0 };
  try {
    // Only this optional path calls Stripe: the SDK is loaded here, not at cold start.
    const { stripeClient } = await import('../stripe.ts');
    const summaries = await stripeClient(cfg)
      .billing.meters.listEventSummaries(meterId, { customer: customerId, start_time: start, end_time: end, limit: 100 })
      .autoPagingToArray({ limit: 1000 });
    return { ...base, aggregatedValue: summaries.reduce((sum, s) => sum + s.aggregated_value, 0) };
  } catch (err) {
    // The ledger is still worth answering with; Stripe's side is marked missing, not guessed.
    log.warn('usage_stripe_summaries_failed', describeError(err));
    return { ...base, aggregatedValue: null, error: 'Stripe could not be read; try again shortly' };
  }
}
