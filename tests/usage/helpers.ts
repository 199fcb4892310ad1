/**
 * Usage tests' setup: the real stack (Postgres, Redis) and the Stripe double, the app
 * configured for usage, and helpers to post usage, run the reporter and compare our
 * ledger with what the double's meter holds.
 */
import { expect } from 'vitest';
import usage from '../../functions/usage.ts';
import { config } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { getStore, type SubscriptionSnapshot } from '../../shared/store/index.ts';
import type { ReportOptions, ReportResult } from '../../shared/usage/report.ts';
import { runUsageReport } from '../../shared/usage/run.ts';
import { call, uid, type Call, type Stack } from '../helpers/stack.ts';
import { startStripeStack, type StripeSide } from '../helpers/stripe.ts';

export const SERVICE_KEY = 'svc_test_0123456789abcdefghijklmnop';
export const METER = 'mtr_double_events';
export const EVENT_NAME = 'tracked_events';
export const DAY = 86_400;

export type { StripeSide };

/**
 * A small catalogue for limit tests: a free plan (accounts without a subscription) with hard
 * limits, Basic (the double's product `basic`) with a soft `events` limit and a hard
 * `exports` one, Pro (`pro`) with a larger soft `events` limit only.
 */
export const TEST_CATALOGUE = {
  meteredFeature: 'events',
  plans: [
    { key: 'free', name: 'Free', prices: [], features: { api: false }, limits: { events: { limit: 50, hard: true }, exports: { limit: 3, hard: true } } },
    {
      key: 'basic', name: 'Basic',
      prices: [{ lookupKey: 'basic_monthly', interval: 'month', currency: 'usd', unitAmount: 900 }],
      features: { api: false }, limits: { events: { limit: 100, hard: false }, exports: { limit: 10, hard: true } },
    },
    {
      key: 'pro', name: 'Pro',
      prices: [{ lookupKey: 'pro_monthly', interval: 'month', currency: 'usd', unitAmount: 2900 }],
      features: { api: true }, limits: { events: { limit: 1000, hard: false } },
    },
  ],
};

/** The product of the double's price, as linkedAccount stores it. */
export const PRODUCT_OF: Record<string, string> = { price_basic_monthly: 'basic', price_pro_monthly: 'pro' };

/** Usage set up for tests; no catalogue (`plans: []`, usage as before limits) unless `env` gives BILLING_CATALOGUE. */
export async function startUsageStack(env: Record<string, string> = {}): Promise<{ stack: Stack; s: StripeSide }> {
  const { stack, s } = await startStripeStack();
  stack.setEnv({
    BILLING_SERVICE_KEY: SERVICE_KEY,
    STRIPE_METER_EVENT_NAME: EVENT_NAME,
    STRIPE_METER_ID: METER,
    USAGE_REPORT_WINDOW_SECONDS: '60',
    BILLING_CATALOGUE: JSON.stringify({ plans: [] }),
    ...env,
  });
  return { stack, s };
}

export interface UsageInput {
  accountId: string;
  quantity: number;
  idempotencyKey: string;
  timestamp?: number | string;
  feature?: string;
}

export function postUsage(body: unknown, opts: { key?: string; path?: string; headers?: Record<string, string> } = {}): Promise<Call> {
  return call(usage, 'POST', opts.path ?? '/api/stripe/usage', {
    body,
    headers: { authorization: `Bearer ${opts.key ?? SERVICE_KEY}`, ...opts.headers },
  });
}

/** Posts records in batches of 1,000 and checks each was accepted. */
export async function record(records: UsageInput[]): Promise<void> {
  for (let i = 0; i < records.length; i += 1000) {
    const res = await postUsage({ records: records.slice(i, i + 1000) });
    expect(res.status, res.text).toBe(200);
  }
}

const silent = createLogger({ function: 'usage-test' });

/** Fast settings for tests: short backoffs, batches offered again at once. */
export const FAST: Partial<ReportOptions> = { retryBaseMs: 5, releaseBackoffSeconds: 0, timeBudgetMs: 20_000 };

export function report(overrides: Partial<ReportOptions> = {}): Promise<ReportResult> {
  return runUsageReport(config(), silent, { ...FAST, ...overrides });
}

export const nowS = () => Math.floor(Date.now() / 1000);

/** The start of the minute `minutesAgo` minutes back (report windows are 60 s in these tests). */
export const minute = (minutesAgo: number) => Math.floor(nowS() / 60) * 60 - minutesAgo * 60;

/** A linked account (billing_accounts row with a customer), optionally with a subscription for a period. */
export async function linkedAccount(
  opts: { kind?: 'user' | 'organization'; period?: { start: number; end: number }; priceId?: string } = {},
): Promise<{ accountId: string; customer: string; id: string }> {
  const kind = opts.kind ?? 'user';
  const id = uid(kind === 'user' ? 'u' : 'org');
  const accountId = `${kind === 'user' ? 'user' : 'org'}:${id}`;
  const customer = uid('cus');
  const store = getStore(config());
  await store.linkCustomer({ account_id: accountId, kind, customer_id: customer });
  if (opts.period) {
    const t = (s: number) => new Date(s * 1000).toISOString();
    const sub: SubscriptionSnapshot = {
      id: uid('sub'), customer_id: customer, account_id: accountId, status: 'active', price_id: opts.priceId ?? 'price_basic_monthly',
      product_id: PRODUCT_OF[opts.priceId ?? 'price_basic_monthly'] ?? null, quantity: 1, current_period_start: t(opts.period.start), current_period_end: t(opts.period.end),
      cancel_at_period_end: false, cancel_at: null, canceled_at: null, ended_at: null, trial_start: null, trial_end: null,
      past_due_since: null,
      pending_price_id: null, pending_product_id: null, pending_quantity: null, pending_effective_at: null,
      stripe_created: t(opts.period.start - 30 * DAY), snapshot_at: Date.now(),
    };
    await store.applyEvent({ event: null, subscriptions: [sub] });
  }
  return { accountId, customer, id };
}

/** What the double's meter holds for a customer in [start, end) (minute-aligned), read through the real SDK. */
export async function stripeTotal(s: StripeSide, customer: string, start = nowS() - 36 * DAY, end = nowS() + 3600): Promise<number> {
  const summaries = await s.stripe.billing.meters
    .listEventSummaries(METER, { customer, start_time: Math.floor(start / 60) * 60, end_time: Math.ceil(end / 60) * 60 })
    .autoPagingToArray({ limit: 100 });
  return summaries.reduce((sum, x) => sum + x.aggregated_value, 0);
}

/**
 * The invariant every scenario ends with: for every linked customer, Stripe's meter holds
 * exactly what our ledger recorded of the metered feature, and the ledger says all of it is reported.
 */
export async function expectStripeMatchesLedger(stack: Stack, s: StripeSide): Promise<void> {
  const rows = await stack.sql<{ customer: string; recorded: string; reported: string }[]>`
    select a.stripe_customer_id as customer, sum(r.quantity)::text as recorded,
           coalesce(sum(r.quantity) filter (where b.status = 'reported'), 0)::text as reported
    from billing_usage_records r
    join billing_accounts a on a.id = r.account_id and a.stripe_customer_id is not null
    left join billing_usage_batches b on b.id = r.batch_id
    where r.feature is null -- the metered feature; others never reach the meter
    group by a.stripe_customer_id`;
  for (const row of rows) {
    expect({ customer: row.customer, stripe: await stripeTotal(s, row.customer), reported: Number(row.reported) }).toEqual({
      customer: row.customer,
      stripe: Number(row.recorded),
      reported: Number(row.recorded),
    });
  }
}

/** Meter event POSTs the double received (faults included), by identifier. */
export function meterEventPosts(s: StripeSide): number {
  return s.double.requestLog.filter((e) => e.method === 'POST' && e.path === '/v1/billing/meter_events').length;
}

export function identifiersAtStripe(s: StripeSide): string[] {
  return s.double.state.meterEvents.map((e) => e.identifier);
}
