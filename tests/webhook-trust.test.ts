/**
 * What a signed webhook may do to our database. Only a Stripe event reaches it (anything else
 * is a 400), and an event binds a customer or a subscription to an account only when our own
 * checkout made that customer for that account: `client_reference_id` and subscription
 * metadata can be set by anyone with a Payment Link, a pricing table or the Dashboard.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import subscription from '../functions/subscription.ts';
import webhook from '../functions/webhook.ts';
import { STRIPE_API_VERSION } from '../shared/stripe.ts';
import { captureWarnings } from './faults/helpers.ts';
import { call, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { checkedOut, signedWebhook, startStripeStack, WEBHOOK_SECRET, type StripeSide } from './helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
});
afterAll(() => stop());
beforeEach(() => s.double.setWebhook(null)); // only what a test posts arrives

const stateOf = async (token: string) => (await call(subscription, 'GET', '/api/stripe/subscription', { token })).body;
const signedRaw = (payload: string, path = '/api/stripe/webhook') =>
  call(webhook, 'POST', path, { body: payload, headers: { 'stripe-signature': s.double.sign(payload, WEBHOOK_SECRET) } });
const eventsOf = (objectId: string) => s.double.state.events.filter((e) => (e.data.object as { id?: string }).id === objectId);

/** A subscription the attacker made outside our checkout, on a customer of their own. */
async function strangersSubscription(metadata: Record<string, string> = {}, customerMetadata: Record<string, string> = {}) {
  await s.double.idle();
  const customer = await s.stripe.customers.create({ email: 'stranger@example.com', metadata: customerMetadata });
  const sub = await s.stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_basic_monthly' }], metadata });
  return { customer, sub };
}

describe('payloads that are not Stripe events answer 400 and store nothing', () => {
  const seed2Example = {
    type: 'checkout.session.completed',
    data: { object: { customer: 'cus_xxx', customer_email: 'user@example.com', subscription: 'sub_xxx', metadata: { userId: 'user_123', email: 'user@example.com' } } },
  };
  const base = { id: 'evt_1Valid', object: 'event', api_version: STRIPE_API_VERSION, created: 1796000000, type: 'customer.created', data: { object: { id: 'cus_1', object: 'customer' } } };
  const cases: Record<string, unknown> = {
    "seed 2's own example payload": seed2Example,
    'no id': { ...base, id: undefined },
    'an id with a lone surrogate': { ...base, id: 'evt_\uD800' },
    'an id that is not an event id': { ...base, id: 'cus_123' },
    'created as a string': { ...base, created: '1796000000' },
    'data.object null': { ...base, data: { object: null } },
    'no type': { ...base, type: undefined },
    'an array': [base],
    'null': null,
  };
  for (const [what, payload] of Object.entries(cases)) {
    it(what, async () => {
      for (const path of ['/api/stripe/webhook', '/api/billing/webhook']) {
        const res = await signedRaw(JSON.stringify(payload), path);
        expect(res.status, res.text).toBe(400);
        if (path.startsWith('/api/billing')) expect(res.body.error).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/^Not a Stripe event/) });
        else expect(res.body).toMatchObject({ code: 'BAD_REQUEST', error: expect.stringMatching(/^Not a Stripe event/) });
      }
    });
  }

  it('lone surrogates in fields we read are dropped, not a 500', async () => {
    const { done } = await checkedOut(s, { deliver: false });
    const event = done.events.find((e) => e.type === 'checkout.session.completed')!;
    const forged = { ...event, id: `evt_${uid('x').replace('_', '')}`, data: { object: { ...event.data.object, id: 'cs_\uDC00', subscription: 'sub_\uD800', metadata: { account_id: 'user:\uD800' } } } };
    const res = await signedRaw(JSON.stringify(forged));
    expect(res.status).toBe(200);
    expect(await stack.sql`select object_id from billing_stripe_events where id = ${forged.id}`).toEqual([{ object_id: null }]);
  });
});

describe('only what our checkout created binds an account', () => {
  it('a Payment Link checkout naming the victim in client_reference_id links nothing', async () => {
    const victim = uid('u');
    const template = (await checkedOut(s, { deliver: false })).eventOf('checkout.session.completed');
    const { customer, sub } = await strangersSubscription();
    const session = { ...template.data.object, customer: customer.id, subscription: sub.id, client_reference_id: `user:${victim}`, metadata: {} };
    const event = { ...template, id: `evt_${uid('pl').replace('_', '')}`, data: { object: session } } as Stripe.Event;
    expect((await signedWebhook(s, event)).status).toBe(200);
    for (const e of eventsOf(sub.id)) expect((await signedWebhook(s, e)).status).toBe(200);
    expect(await stateOf(await tokenFor({ sub: victim }))).toMatchObject({ state: 'none', customerId: null });
    expect(await stack.sql`select 1 from billing_accounts where id = ${`user:${victim}`}`).toHaveLength(0);
  });

  it('a subscription whose metadata names the victim, on a customer that is not theirs, is not theirs', async () => {
    const victim = uid('u');
    const customerMetadatas: Array<Record<string, string>> = [{}, { account_id: `user:${uid('other')}` }];
    for (const customerMetadata of customerMetadatas) {
      const { sub } = await strangersSubscription({ account_id: `user:${victim}` }, customerMetadata);
      for (const e of eventsOf(sub.id)) expect((await signedWebhook(s, e)).status).toBe(200);
      expect(await stack.sql`select account_id from billing_subscriptions where id = ${sub.id}`).toEqual([{ account_id: null }]);
    }
    expect(await stateOf(await tokenFor({ sub: victim }))).toMatchObject({ state: 'none', customerId: null, subscription: null });
  });

  it('a linked account never counts a subscription of another customer, even one stored naming it', async () => {
    const { token, user, done } = await checkedOut(s, { deliver: false });
    for (const e of done.events) expect((await signedWebhook(s, e)).status).toBe(200);
    const customer = done.customer.id;
    const mine = await stateOf(token);
    expect(mine).toMatchObject({ state: 'active', customerId: customer });
    // A row as an older version stored it: metadata naming the account, another customer.
    await stack.sql`insert into billing_subscriptions (id, customer_id, account_id, status, price_id, current_period_end, stripe_created, snapshot_at)
      values (${uid('sub')}, ${uid('cus')}, ${`user:${user}`}, 'active', 'price_pro_monthly', now() + interval '300 days', now() + interval '1 day', 1)`;
    expect(await stateOf(token)).toEqual(mine);
    expect(await stack.sql`select id from billing_subscriptions_of(${`user:${user}`})`).toEqual([{ id: done.subscription.id }]);
  });
});

describe('API versions', () => {
  it('an invoice event in an older version (invoice.subscription, no parent) still applies, and one warning names the version to set', async () => {
    const { token, done } = await checkedOut(s, { deliver: false, paymentFails: true });
    expect((await stateOf(token)).state).toBe('none');
    const failed = done.events.find((e) => e.type === 'invoice.payment_failed')!;
    const invoice = failed.data.object as Stripe.Invoice;
    const old = {
      ...failed, id: `evt_${uid('old').replace('_', '')}`, api_version: '2024-06-20',
      data: { object: { ...invoice, parent: undefined, subscription: invoice.parent?.subscription_details?.subscription } },
    };
    const log = captureWarnings();
    try {
      for (let i = 0; i < 2; i++) {
        const res = await signedRaw(JSON.stringify({ ...old, id: `${old.id}${i}` }));
        expect(res.status).toBe(200);
      }
    } finally {
      log.restore();
    }
    expect(await stack.sql`select 1 from billing_subscriptions where customer_id = ${done.customer.id}`).toHaveLength(1);
    const warnings = log.lines.filter((l) => l.event === 'stripe_api_version_mismatch');
    expect(warnings).toEqual([expect.objectContaining({ eventApiVersion: '2024-06-20', expected: STRIPE_API_VERSION })]);
  });
});
