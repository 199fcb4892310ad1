/**
 * GET usage: the account's usage in its current billing period, from our ledger (recorded,
 * reported to Stripe, pending), against the plan's included quantity; optionally beside
 * Stripe's own meter event summaries for the same period, so the two can be compared.
 */
import { accessFor } from '../access.ts';
import type { Principal } from '../auth.ts';
import { required, type Config } from '../config.ts';
import { describeError, type Logger } from '../log.ts';
import { getStore, type Store, type UsageOverview } from '../store/index.ts';
import { calendarMonth, minuteAligned, usagePeriod, type UsagePeriod } from './period.ts';

export interface StripeUsage {
  meterId: string;
  customerId: string | null;
  /** The period widened to whole minutes, as Stripe's summaries require. */
  start: string;
  end: string;
  /** null when Stripe could not be read (see `error`). */
  aggregatedValue: number | null;
  error?: string;
}

export interface UsageView {
  accountId: string;
  accountType: Principal['accountKind'];
  customerId: string | null;
  period: UsagePeriod;
  plan: { priceId: string | null; name: string | null } | null;
  recorded: number;
  reported: number;
  /** Recorded but not yet accepted by Stripe (including `failed`). */
  pending: number;
  /** Refused by Stripe for good; an operator must look (npm run usage:report -- --retry-failed). */
  failed: number;
  included: number;
  overage: number;
  stripe?: StripeUsage;
}

/** What GET usage reads (one round trip), so it can run beside the rate-limit check. */
export const usageRead = (store: Store, accountId: string, nowMs = Date.now()) => store.usageOverview(accountId, calendarMonth(nowMs));

export async function usageView(cfg: Config, log: Logger, overview: UsageOverview, principal: Principal, withStripe: boolean): Promise<UsageView> {
  // A subscription that no longer grants access (canceled now, unpaid) has no current
  // period to show: the calendar month is used, as for an account that never subscribed.
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
  const priceId = period.source === 'calendar_month' ? null : (subscription?.price_id ?? null);
  const included = (priceId && cfg.USAGE_INCLUDED[priceId]) || 0;
  return {
    accountId: principal.accountId,
    accountType: principal.accountKind,
    customerId,
    period,
    plan: period.source === 'calendar_month' ? null : { priceId, name: (priceId && cfg.PLAN_NAMES[priceId]) ?? priceId },
    recorded: totals.recorded,
    reported: totals.reported,
    pending: totals.recorded - totals.reported,
    failed: totals.failed,
    included,
    overage: Math.max(0, totals.recorded - included),
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
