/**
 * Limits are enforced in SQL (billing_usage_period picks the plan and period inside POST
 * usage's one transaction) and shown by GET usage from TypeScript (accessFor, usagePeriod).
 * The two must pick the same plan and period, or GET would show one counter and POST fill
 * another: random sets of subscriptions, at random moments, get the same answer from both.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessFor } from '../../shared/access.ts';
import { config } from '../../shared/config.ts';
import { getStore, type SubscriptionSnapshot } from '../../shared/store/index.ts';
import { usagePeriod } from '../../shared/usage/period.ts';
import { startStack, uid, type Stack } from '../helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack.stop();
});

const DAY = 86_400;
// The end of a January: month plans anchored on the 29th to 31st are clamped in February.
const BASE = Date.UTC(2027, 0, 31, 9, 30) / 1000;
const iso = (s: number) => new Date(s * 1000).toISOString();

/** `s` plus whole calendar months on the same day, clamped to shorter months (as Stripe bills). */
function addMonths(s: number, n: number): number {
  const d = new Date(s * 1000);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n + 1, 0)).getUTCDate();
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, Math.min(d.getUTCDate(), last), d.getUTCHours(), d.getUTCMinutes()) / 1000;
}

const at = fc.integer({ min: -90 * DAY, max: 90 * DAY });
const subscription = fc.record({
  status: fc.constantFrom('active', 'trialing', 'past_due', 'canceled', 'incomplete', 'unpaid', 'paused'),
  start: fc.integer({ min: -400 * DAY, max: 20 * DAY }),
  length: fc.oneof(fc.constantFrom<number | 'month' | 'year'>(DAY, 7 * DAY, 'month', 'month', 'year'), fc.integer({ min: 3600, max: 90 * DAY })),
  cancelAtPeriodEnd: fc.boolean(),
  cancelAt: fc.option(at),
  trialEnd: fc.option(at),
  pastDueSince: fc.option(at),
  endedAt: fc.option(at),
  created: fc.integer({ min: -500 * DAY, max: 0 }),
  product: fc.constantFrom('prod_a', 'prod_b', null),
});

describe('billing_usage_period (SQL) and GET usage (TypeScript)', () => {
  it('pick the same plan and period for any subscriptions at any moment', async () => {
    const store = getStore(config());
    await fc.assert(
      fc.asyncProperty(fc.array(subscription, { maxLength: 3 }), fc.integer({ min: -30 * DAY, max: 60 * DAY }), fc.constantFrom(0, 7), async (subs, nowOffset, grace) => {
        const accountId = `user:${uid('u')}`;
        const customer = uid('cus');
        await store.linkCustomer({ account_id: accountId, kind: 'user', customer_id: customer });
        const snapshots: SubscriptionSnapshot[] = subs.map((x) => {
          const start = BASE + x.start;
          const end = x.length === 'month' ? addMonths(start, 1) : x.length === 'year' ? addMonths(start, 12) : start + x.length;
          const t = (offset: number | null) => (offset === null ? null : iso(BASE + offset));
          return {
            id: uid('sub'), customer_id: customer, account_id: accountId, status: x.status, price_id: 'price_x', product_id: x.product, quantity: 1,
            current_period_start: iso(start), current_period_end: iso(end), cancel_at_period_end: x.cancelAtPeriodEnd, cancel_at: t(x.cancelAt),
            canceled_at: t(x.endedAt), ended_at: t(x.endedAt), trial_start: null, trial_end: t(x.trialEnd), past_due_since: t(x.pastDueSince),
            pending_price_id: null, pending_product_id: null, pending_quantity: null, pending_effective_at: null,
            stripe_created: iso(BASE + x.created), snapshot_at: Date.now(),
          };
        });
        await store.applyEvent({ event: null, subscriptions: snapshots });
        const nowMs = (BASE + nowOffset) * 1000;

        const { subscriptions } = await store.getAccount(accountId);
        const access = accessFor(subscriptions, grace, nowMs);
        const current = access.hasAccess ? access.subscription : null;
        const period = usagePeriod(current, nowMs, access.state === 'active' || access.state === 'past_due');
        const ts = { hasAccess: access.hasAccess, productId: current?.product_id ?? null, ...period };

        const [row] = await stack.sql<{ has_access: boolean; product_id: string | null; period_start: Date; period_end: Date; source: string }[]>`
          select * from billing_usage_period(${accountId}, ${new Date(nowMs)}, ${grace})`;
        const sql = { hasAccess: row!.has_access, productId: row!.product_id, start: row!.period_start.toISOString(), end: row!.period_end.toISOString(), source: row!.source };
        expect(sql).toEqual(ts);
      }),
      { numRuns: 300 },
    );
  });
});
