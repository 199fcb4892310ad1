/**
 * One account, one subscription: a user with Checkout open in two tabs pays once. When one
 * session completes the webhook expires the customer's other open sessions; two paid at
 * the same moment are both stored and an error line names both subscriptions.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../functions/checkout.ts';
import { checkoutSessionIdOf } from '../dev/stripe-double/index.ts';
import { captureWarnings } from './faults/helpers.ts';
import { call, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { signedWebhook, startStripeStack, type StripeSide } from './helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
});
afterAll(() => stop());

/** Our checkout's session, and a second tab's: the same customer and metadata, opened later. */
async function twoOpenSessions() {
  const user = uid('u');
  const token = await tokenFor({ sub: user });
  const res = await call(checkout, 'POST', '/api/stripe/checkout', { token });
  expect(res.status, res.text).toBe(200);
  const first = await s.stripe.checkout.sessions.retrieve(checkoutSessionIdOf(res.body.url));
  const second = await s.stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: first.customer as string,
    line_items: [{ price: 'price_basic_monthly', quantity: 1 }],
    metadata: first.metadata ?? {},
    subscription_data: { metadata: first.metadata ?? {} },
  });
  return { user, customer: first.customer as string, first, second };
}

const completedEvent = (events: Stripe.Event[]) => events.find((e) => e.type === 'checkout.session.completed')!;

describe('several open checkout sessions of one account', () => {
  it("when one completes, the account's other open sessions are expired and cannot be paid", async () => {
    const { customer, first, second } = await twoOpenSessions();
    const done = await s.double.actions.completeCheckout(first.id, { deliver: false });
    for (const e of done.events) expect((await signedWebhook(s, e)).status).toBe(200);
    expect((await s.stripe.checkout.sessions.retrieve(second.id)).status).toBe('expired');
    await expect(s.double.actions.completeCheckout(second.id, { deliver: false })).rejects.toThrow();
    expect((await s.stripe.subscriptions.list({ customer })).data).toHaveLength(1);
  });

  it('two paid at once: both stored, and one error line names both subscriptions for the operator', async () => {
    const { customer, first, second } = await twoOpenSessions();
    const a = await s.double.actions.completeCheckout(first.id, { deliver: false });
    const b = await s.double.actions.completeCheckout(second.id, { deliver: false });
    const log = captureWarnings();
    try {
      for (const e of [...a.events, completedEvent(b.events)]) expect((await signedWebhook(s, e)).status).toBe(200);
    } finally {
      log.restore();
    }
    const errors = log.lines.filter((l) => l.event === 'checkout_second_subscription');
    expect(errors.at(-1)).toMatchObject({ customerId: customer, subscriptions: expect.arrayContaining([a.subscription.id, b.subscription.id]) });
    expect(await stack.sql`select id from billing_subscriptions where customer_id = ${customer}`).toHaveLength(2);
  });
});
