/**
 * The reconcile under a time limit (Netlify stops a scheduled function after 30 s): a run
 * that runs out of time stops starting customers, and the next one goes on where it
 * stopped, wrapping around, so every customer is repaired within a few runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { config } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { reconcile, type ReconcileReport } from '../shared/reconcile.ts';
import { getStore } from '../shared/store/index.ts';
import type { Stack } from './helpers/stack.ts';
import { checkedOut, expectSubscriptionsMatchStripe, startStripeStack, type StripeSide } from './helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
});
afterAll(() => stop());

const log = createLogger({ function: 'reconcile-test' });
const run = (options: Parameters<typeof reconcile>[3] = {}) => reconcile(config(), getStore(config()), log, options);
/** The customers a run repaired. */
const repaired = (r: ReconcileReport) => r.changed.map((c) => c.customerId);

describe('reconcile with a time budget', () => {
  it('stops early when out of time, and the next runs go on from where it stopped, wrapping around, until every customer is repaired', async () => {
    const subs: Record<string, string> = {};
    for (let i = 0; i < 4; i++) {
      const c = await checkedOut(s);
      subs[c.customer] = c.sub;
      await s.double.actions.scheduleCancel(c.sub, true, { deliver: false }); // the event is lost
    }
    const known = (await getStore(config()).listCustomers()).map((c) => c.customer_id);
    expect([...known].sort()).toEqual(Object.keys(subs).sort());

    // No time at all: one customer (every run moves on), then it stops and says so.
    const first = await run({ timeBudgetMs: 0 });
    expect(first).toMatchObject({ customers: 1, complete: false, failed: [] });
    const order = repaired(first);
    while (order.length < known.length) {
      const next = await run({ timeBudgetMs: 0 });
      expect(next).toMatchObject({ customers: 1, complete: false });
      order.push(...repaired(next));
    }
    // Each run went on after the one before: every customer once, none twice.
    expect(order).toEqual(known);
    await expectSubscriptionsMatchStripe(stack, s, known);

    // The walk wraps around: after the last customer comes the first again.
    for (const customer of [known[0]!, known[2]!]) await s.double.actions.scheduleCancel(subs[customer]!, false, { deliver: false });
    expect(repaired(await run({ timeBudgetMs: 0 }))).toEqual([known[0]]);
    // With time enough (a page of two at a time), one run reaches every customer once, from where the last stopped.
    const full = await run({ pageSize: 2 });
    expect(full).toMatchObject({ customers: known.length, complete: true, failed: [] });
    expect(repaired(full)).toEqual([known[2]]);
    await expectSubscriptionsMatchStripe(stack, s, known);
  });
});
