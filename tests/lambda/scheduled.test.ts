/**
 * The scheduled reconcile entry, invoked with the event EventBridge sends on a schedule,
 * against the real database and the Stripe double.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../lambda/reconcile-nightly.ts';
import { config } from '../../shared/config.ts';
import { getStore } from '../../shared/store/index.ts';
import { startStack, uid, type Stack } from '../helpers/stack.ts';
import { checkedOut, expectSubscriptionsMatchStripe, startStripe, type StripeSide } from '../helpers/stripe.ts';
import { lambdaContext } from './events.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  stack = await startStack();
  s = await startStripe(stack);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

/** An EventBridge "Scheduled Event" (AWS docs, "Using Lambda with EventBridge schedules"). */
const scheduled = () => ({
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  region: 'us-east-2',
  resources: ['arn:aws:events:us-east-2:123456789012:rule/billing-ReconcileNightlyFunctionNightly'],
  detail: {},
});

describe('reconcile-nightly on Lambda', () => {
  it('runs over the known customers and returns a summary', async () => {
    expect(await handler(scheduled(), lambdaContext())).toEqual({ customers: 0, subscriptions: 0, changed: 0, failed: 0, complete: true });
  });

  it('counts a customer and its subscription, and repairs what a lost event left wrong', async () => {
    const c = await checkedOut(s);
    await s.double.actions.scheduleCancel(c.sub, true, { deliver: false }); // the event is lost
    expect(await stack.sql`select cancel_at_period_end from billing_subscriptions where id = ${c.sub}`).toEqual([{ cancel_at_period_end: false }]);
    expect(await handler(scheduled(), lambdaContext())).toEqual({ customers: 1, subscriptions: 1, changed: 1, failed: 0, complete: true });
    await expectSubscriptionsMatchStripe(stack, s, [c.customer]);
    // Nothing left to repair.
    expect(await handler(scheduled(), lambdaContext())).toEqual({ customers: 1, subscriptions: 1, changed: 0, failed: 0, complete: true });
  });

  it('fails the invocation (so it shows in the Errors metric) when a customer could not be reconciled', async () => {
    // No Stripe key configured: every customer's fetch fails, and the run must say so.
    const cleared = { STRIPE_SECRET_KEY: undefined, STRIPE_API_BASE: undefined };
    const before = Object.fromEntries(Object.keys(cleared).map((k) => [k, process.env[k]]));
    stack.setEnv(cleared);
    try {
      await getStore(config()).linkCustomer({ account_id: `user:${uid('u')}`, kind: 'user', customer_id: uid('cus') });
      // Every customer we know fails (the one linked here, and any an earlier test left).
      const [{ n }] = await stack.sql<[{ n: number }]>`select count(*)::int as n from billing_accounts where stripe_customer_id is not null`;
      expect(n).toBeGreaterThanOrEqual(1);
      await expect(handler(scheduled(), lambdaContext())).rejects.toThrow(new RegExp(`\\b${n} of ${n} customers failed`));
    } finally {
      stack.setEnv(before);
    }
  });
});
