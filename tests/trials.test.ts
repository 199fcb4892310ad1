/**
 * Trials from the catalogue: a plan's trial in Checkout (no card asked with `card:
 * if_required`), one trial per account ever (a database constraint: a second trialing
 * subscription has its trial ended at Stripe, whatever the order or concurrency of events),
 * and the $0 trial invoice never turning `trialing` into `active`.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutSessionIdOf } from '../dev/stripe-double/index.ts';
import { shuffle } from '../dev/shuffle.ts';
import checkout from '../functions/checkout.ts';
import subscription from '../functions/subscription.ts';
import type { CatalogueInput } from '../shared/catalogue.ts';
import { call, startStack, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { signedWebhook, startStripe, type StripeSide } from './helpers/stripe.ts';

const CATALOGUE: CatalogueInput = {
  plans: [
    { key: 'basic', name: 'Basic', prices: [{ lookupKey: 'basic_monthly', interval: 'month', currency: 'usd', unitAmount: 900 }], trial: { days: 14, card: 'if_required' } },
    { key: 'pro', name: 'Pro', prices: [{ lookupKey: 'pro_monthly', interval: 'month', currency: 'usd', unitAmount: 2900 }], trial: { days: 7, card: 'required' } },
  ],
};

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  stack = await startStack({ BILLING_CATALOGUE: JSON.stringify(CATALOGUE) });
  s = await startStripe(stack, { deliver: false }); // the tests deliver events themselves
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

async function checkoutOf(token: string, priceId: string) {
  const res = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { priceId } });
  expect(res.status, res.text).toBe(200);
  return checkoutSessionIdOf(res.body.url);
}
const deliver = async (events: Stripe.Event[]) => {
  for (const e of events) expect((await signedWebhook(s, e)).status).toBe(200);
};
const stateOf = async (token: string) => (await call(subscription, 'GET', '/api/stripe/subscription', { token })).body;

describe('trials', () => {
  it("a plan's trial without a card: Checkout asks for none, the subscription is trialing; the $0 invoice, shuffled and repeated, never makes it active", async () => {
    const token = await tokenFor({ sub: uid('u') });
    const sessionId = await checkoutOf(token, 'basic_monthly');
    const session = await s.stripe.checkout.sessions.retrieve(sessionId);
    expect(session.payment_method_collection).toBe('if_required');
    const done = await s.double.actions.completeCheckout(sessionId, { deliver: false });
    expect(done.subscription).toMatchObject({ status: 'trialing', default_payment_method: null });
    expect(done.invoice.amount_due).toBe(0);
    const events = [...done.events, ...done.events.filter((e) => e.type.startsWith('invoice.'))];
    expect(events.some((e) => e.type === 'invoice.paid')).toBe(true);
    for (const seed of [1, 2, 3]) await deliver(shuffle(events, seed));
    expect(await stateOf(token)).toMatchObject({ state: 'trialing', hasAccess: true, subscription: { status: 'trialing' }, plan: { key: 'basic' } });
  });

  it('trial_will_end: GET subscription says the trial ends soon (three days before, as Stripe sends it), and the event is applied', async () => {
    const token = await tokenFor({ sub: uid('u') });
    const done = await s.double.actions.completeCheckout(await checkoutOf(token, 'basic_monthly'), { deliver: false });
    await deliver(done.events);
    expect((await stateOf(token)).subscription.trialEndsSoon).toBe(false);
    const warned = await s.double.actions.trialWillEnd(done.subscription.id, { deliver: false });
    await deliver(warned.events);
    expect((await stateOf(token)).state).toBe('trialing');
    // Three days before its end (our clock is the machine's): the trial ends soon.
    await stack.sql`update billing_subscriptions set trial_end = now() + interval '2 days' where id = ${done.subscription.id}`;
    expect((await stateOf(token)).subscription.trialEndsSoon).toBe(true);
  });

  it('a trial with card: required asks for a card (payment_method_collection stays always)', async () => {
    const sessionId = await checkoutOf(await tokenFor({ sub: uid('u') }), 'pro_monthly');
    expect((await s.stripe.checkout.sessions.retrieve(sessionId)).payment_method_collection).toBe('always');
    const done = await s.double.actions.completeCheckout(sessionId, { deliver: false });
    expect(done.subscription.status).toBe('trialing');
    expect(done.subscription.trial_end! - done.subscription.trial_start!).toBe(7 * 86_400);
  });

  it('an account that had a trial is offered none at its next checkout', async () => {
    const token = await tokenFor({ sub: uid('u') });
    const first = await s.double.actions.completeCheckout(await checkoutOf(token, 'basic_monthly'), { deliver: false });
    await deliver(first.events);
    await s.stripe.subscriptions.cancel(first.subscription.id);
    await deliver((await s.stripe.events.list({ type: 'customer.subscription.deleted', limit: 5 })).data.filter((e) => (e.data.object as Stripe.Subscription).id === first.subscription.id));
    expect((await stateOf(token)).hasAccess).toBe(false);
    const again = await s.double.actions.completeCheckout(await checkoutOf(token, 'basic_monthly'), { deliver: false });
    expect(again.subscription.status).toBe('active');
  });

  it('two trials of one account, their events delivered at once: one keeps its trial, the other is ended at Stripe', async () => {
    const user = uid('u');
    const token = await tokenFor({ sub: user });
    // Two tabs: both sessions offered the trial (the account had none yet), both paid before any event arrived.
    const a = await checkoutOf(token, 'basic_monthly');
    const b = await s.stripe.checkout.sessions.create({
      ...(await (async () => {
        const first = await s.stripe.checkout.sessions.retrieve(a);
        return { customer: first.customer as string, metadata: first.metadata ?? {}, subscription_data: { metadata: first.metadata ?? {}, trial_period_days: 14 } };
      })()),
      mode: 'subscription',
      line_items: [{ price: 'price_basic_monthly', quantity: 1 }],
      payment_method_collection: 'if_required',
    });
    const one = await s.double.actions.completeCheckout(a, { deliver: false });
    const two = await s.double.actions.completeCheckout(b.id, { deliver: false });
    const subEvents = (done: typeof one) => done.events.filter((e) => e.type.startsWith('customer.subscription.'));
    await Promise.all([...subEvents(one), ...subEvents(two), ...subEvents(one)].map((e) => signedWebhook(s, e)));

    const subs = await Promise.all([one, two].map((d) => s.stripe.subscriptions.retrieve(d.subscription.id)));
    expect(subs.filter((x) => x.status === 'trialing')).toHaveLength(1);
    const [held] = await stack.sql`select subscription_id from billing_trials where account_id = ${`user:${user}`}`;
    expect(subs.find((x) => x.status === 'trialing')!.id).toBe(held!.subscription_id);
    // The other was billed at once: with no card its first invoice failed.
    const ended = subs.find((x) => x.status !== 'trialing')!;
    expect(ended.trial_end).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 5);
    // Its events (and replays) converge: still one trial, and our state is Stripe's.
    await deliver((await s.stripe.events.list({ limit: 100 })).data.filter((e) => (e.data.object as { id?: string }).id === ended.id || (e.data.object as Stripe.Invoice).parent?.subscription_details?.subscription === ended.id));
    const stored = await stack.sql`select id, status from billing_subscriptions where id = ${ended.id}`;
    expect(stored[0]?.status).toBe((await s.stripe.subscriptions.retrieve(ended.id)).status);
  });
});
