/**
 * Plan-change lifecycles delivered shuffled and duplicated: an upgrade, a scheduled
 * downgrade, a dropped downgrade, seat changes, and the period's end where Stripe applies a
 * schedule's phase. Whatever the order, our row ends equal to Stripe's: price, seats and the
 * pending change (shown until Stripe applies it, gone once it has).
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutSessionIdOf } from '../../dev/stripe-double/index.ts';
import { shuffle } from '../../dev/shuffle.ts';
import checkout from '../../functions/checkout.ts';
import subscription from '../../functions/subscription.ts';
import { CHANGE_CATALOGUE, createTeamPlan } from '../helpers/plan-catalogue.ts';
import { call, startStack, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { signedWebhook, startStripe, type StripeSide } from '../helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  stack = await startStack({ BILLING_CATALOGUE: JSON.stringify(CHANGE_CATALOGUE) });
  s = await startStripe(stack, { deliver: false }); // the test delivers, in its own order
  await createTeamPlan(s);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

const change = async (token: string, body: unknown) => {
  const res = await call(subscription, 'POST', '/api/stripe/subscription', { token, body });
  expect(res.status, res.text).toBe(200);
  return res.body;
};

/** Every event the double made about this customer, its subscriptions, invoices and schedules. */
async function eventsOf(customer: string, since: number): Promise<Stripe.Event[]> {
  await s.double.idle();
  const out: Stripe.Event[] = [];
  for await (const e of s.stripe.events.list({ created: { gte: since }, limit: 100 })) {
    const o = e.data.object as { customer?: unknown; id?: unknown };
    if (o.customer === customer || o.id === customer) out.push(e);
  }
  return out;
}

/** What Stripe has, in our row's terms: the item in force and what its schedule changes next. */
async function stripeSide(sub: string) {
  const x = await s.stripe.subscriptions.retrieve(sub, { expand: ['schedule'] });
  const schedule = typeof x.schedule === 'object' && x.schedule?.status === 'active' ? x.schedule : null;
  const next = schedule?.phases.find((p) => p.start_date >= schedule.current_phase!.end_date);
  const item = x.items.data[0]!;
  const changes = next && (next.items[0]!.price !== item.price.id || next.items[0]!.quantity !== item.quantity);
  return {
    price_id: item.price.id,
    quantity: item.quantity,
    pending_price_id: changes ? (next.items[0]!.price as string) : null,
    pending_quantity: changes ? next.items[0]!.quantity! : null,
    pending_effective_at: changes ? new Date(next.start_date * 1000).toISOString() : null,
  };
}

async function ours(sub: string) {
  const [row] = await stack.sql<{ price_id: string; quantity: number; pending_price_id: string | null; pending_quantity: number | null; pending_effective_at: Date | null }[]>`
    select price_id, quantity, pending_price_id, pending_quantity, pending_effective_at from billing_subscriptions where id = ${sub}`;
  return row && { ...row, pending_effective_at: row.pending_effective_at?.toISOString() ?? null };
}

async function lifecycle(renew: boolean) {
  const since = (await s.stripe.events.list({ limit: 1 })).data[0]?.created ?? 0;
  const token = await tokenFor({ sub: uid('u'), org: uid('org'), role: 'owner' });
  const res = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { priceId: 'team_seat_monthly', quantity: 5 } });
  expect(res.status, res.text).toBe(200);
  const done = await s.double.actions.completeCheckout(checkoutSessionIdOf(res.body.url), { deliver: false });
  const sub = done.subscription.id;
  // The account's customer link and first row, so the changes below find the subscription.
  for (const e of done.events) await signedWebhook(s, e);
  expect((await change(token, { quantity: 8 })).status).toBe('applied');
  expect((await change(token, { quantity: 4 })).status).toBe('scheduled');
  expect((await change(token, { quantity: 8 })).status).toBe('pending_canceled');
  expect((await change(token, { priceId: 'team_seat_monthly', quantity: 3 })).status).toBe('scheduled');
  if (renew) await s.double.actions.renewPeriod(sub, { deliver: false });
  return { token, sub, events: await eventsOf(done.customer.id, since) };
}

describe('plan-change lifecycles, shuffled and duplicated', () => {
  for (const renew of [false, true]) {
    it(renew ? 'through the period end: the downgrade is applied and no longer pending' : 'before the period ends: the downgrade is pending', async () => {
      const { token, sub, events } = await lifecycle(renew);
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['subscription_schedule.created', 'subscription_schedule.updated', 'subscription_schedule.released']));
      const expected = await stripeSide(sub);
      expect(expected).toMatchObject(renew ? { quantity: 3, pending_quantity: null } : { quantity: 8, pending_quantity: 3 });
      for (const seed of [11, 12, 13]) {
        // Each event twice, in a new order: duplicates are recorded once, the order is anyone's.
        for (const e of shuffle([...events, ...events], seed)) expect((await signedWebhook(s, e)).status).toBe(200);
        expect(await ours(sub)).toEqual(expected);
      }
      const state = (await call(subscription, 'GET', '/api/stripe/subscription', { token })).body;
      expect(state.subscription).toMatchObject(renew
        ? { quantity: 3, pendingChange: null }
        : { quantity: 8, pendingChange: { plan: 'Team', quantity: 3, effectiveAt: expected.pending_effective_at } });
    });
  }
});
