/**
 * The scheduled reconcile entry, invoked with the event EventBridge sends on a schedule,
 * against the real database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler } from '../../lambda/reconcile-nightly.ts';
import { config } from '../../shared/config.ts';
import { getStore } from '../../shared/store/index.ts';
import { startStack, uid, type Stack } from '../helpers/stack.ts';
import { lambdaContext } from './events.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.stop());

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
    expect(await handler(scheduled(), lambdaContext())).toEqual({ customers: 0, subscriptions: 0, changed: 0, failed: 0 });
  });

  it('fails the invocation (so it shows in the Errors metric) when a customer could not be reconciled', async () => {
    // No Stripe key configured: every customer's fetch fails, and the run must say so.
    stack.setEnv({ STRIPE_SECRET_KEY: undefined, STRIPE_API_BASE: undefined });
    await getStore(config()).linkCustomer({ account_id: `user:${uid('u')}`, kind: 'user', customer_id: uid('cus') });
    await expect(handler(scheduled(), lambdaContext())).rejects.toThrow(/1 of 1 customers failed/);
  });
});
