/**
 * Usage alerts: when an account's usage of a limited feature reaches 80 % and 100 % of its
 * limit in a period, one row each is written (the outbox another part delivers from), exactly
 * once whatever the concurrency, with the usage that crossed it; GET usage shows the period's.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import usage from '../../functions/usage.ts';
import { call, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { DAY, expectStripeMatchesLedger, linkedAccount, nowS, postUsage, report, startUsageStack, TEST_CATALOGUE, type StripeSide } from './helpers.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  ({ stack, s } = await startUsageStack({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE), DATABASE_POOL_MAX: '12' }));
});
afterEach(async () => {
  await report();
  await expectStripeMatchesLedger(stack, s);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

interface AlertRow { feature: string; threshold: number; used: number; limit: number; period_start: Date }

const alertsOf = (accountId: string) =>
  stack.sql<AlertRow[]>`select feature, threshold, used::int, "limit"::int, period_start from billing_usage_alerts where account_id = ${accountId} order by period_start, feature, threshold`;

/** Posts `count` batches of one record each, all at once. */
const burst = (accountId: string, count: number, quantity: number, feature?: string) =>
  Promise.all(Array.from({ length: count }, () => postUsage({ accountId, quantity, idempotencyKey: uid('k'), ...(feature ? { feature } : {}) })));

describe('usage alerts', () => {
  it('a hard limit: 80 % and 100 % are each written once under concurrent batches, with the usage that reached them', async () => {
    const start = nowS() - DAY;
    const a = await linkedAccount({ period: { start, end: start + 30 * DAY }, priceId: 'price_basic_monthly' }); // exports hard 10
    const answers = await burst(a.accountId, 30, 1, 'exports');
    expect(answers.reduce((n, r) => n + r.body.accepted, 0)).toBe(10);
    expect(await alertsOf(a.accountId)).toEqual([
      { feature: 'exports', threshold: 80, used: 8, limit: 10, period_start: new Date(start * 1000) },
      { feature: 'exports', threshold: 100, used: 10, limit: 10, period_start: new Date(start * 1000) },
    ]);
  });

  it('a soft limit: each threshold once, by the batch that crossed it, and usage goes on past it', async () => {
    const a = await linkedAccount({ period: { start: nowS() - DAY, end: nowS() + 29 * DAY }, priceId: 'price_basic_monthly' }); // events soft 100
    const answers = await burst(a.accountId, 40, 3);
    expect(answers.reduce((n, r) => n + r.body.accepted, 0)).toBe(40);
    const rows = await alertsOf(a.accountId);
    expect(rows.map((r) => [r.feature, r.threshold, r.limit])).toEqual([['events', 80, 100], ['events', 100, 100]]);
    // Quantities of 3 from 0: the batch that crossed 80 left 81, the one that crossed 100 left 102.
    expect(rows.map((r) => r.used)).toEqual([81, 102]);
  });

  it('none below 80 %; once per period: a new period starts over', async () => {
    const start = nowS() - DAY;
    const a = await linkedAccount({ period: { start, end: start + 30 * DAY }, priceId: 'price_basic_monthly' });
    const early = start + 60;
    await postUsage({ accountId: a.accountId, quantity: 79, idempotencyKey: uid('k'), timestamp: early });
    expect(await alertsOf(a.accountId)).toEqual([]);
    await postUsage({ accountId: a.accountId, quantity: 1, idempotencyKey: uid('k'), timestamp: early });
    await postUsage({ accountId: a.accountId, quantity: 1, idempotencyKey: uid('k'), timestamp: early });
    expect((await alertsOf(a.accountId)).map((r) => [r.threshold, r.used])).toEqual([[80, 80]]);
    // The subscription moves on to a new period (as a renewal's webhook stores it): counted afresh.
    const next = nowS() - 3600;
    await stack.sql`update billing_subscriptions set current_period_start = ${new Date(next * 1000)}, current_period_end = ${new Date((next + 30 * DAY) * 1000)} where customer_id = ${a.customer}`;
    await burst(a.accountId, 4, 25);
    expect((await alertsOf(a.accountId)).map((r) => [r.threshold, r.used, r.period_start.getTime() / 1000])).toEqual([
      [80, 80, start], [80, 100, next], [100, 100, next],
    ]);
  });

  it('GET usage shows the period\'s alerts: feature, threshold, used, limit and when', async () => {
    const user = uid('u'); // the free plan: exports hard 3, events hard 50
    const before = Date.now();
    await burst(`user:${user}`, 5, 1, 'exports');
    const res = await call(usage, 'GET', '/api/billing/usage', { token: await tokenFor({ sub: user }) });
    expect(res.status).toBe(200);
    const { alerts, limits } = res.body.data;
    expect(alerts).toEqual([
      { feature: 'exports', threshold: 80, used: 3, limit: 3, at: expect.any(String) },
      { feature: 'exports', threshold: 100, used: 3, limit: 3, at: expect.any(String) },
    ]);
    expect(Date.parse(alerts[0].at)).toBeGreaterThanOrEqual(before - 1000);
    expect(limits.exports).toMatchObject({ used: 3, remaining: 0 });
  });
});
