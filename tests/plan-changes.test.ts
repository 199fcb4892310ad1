/**
 * Plan changes (POST subscription) against the Stripe double: previews equal the invoices
 * Stripe then creates, to the cent, at several points of a period; upgrades now, downgrades
 * at the period's end by a schedule (replaced by a second change, dropped by changing back),
 * seats with their bounds, a declined upgrade that leaves the plan as it was, double clicks
 * and concurrent changes that make one coherent result, and 4xx answers before any Stripe call.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutSessionIdOf } from '../dev/stripe-double/index.ts';
import checkout from '../functions/checkout.ts';
import subscription from '../functions/subscription.ts';
import { CHANGE_CATALOGUE, createTeamPlan } from './helpers/plan-catalogue.ts';
import { call, startStack, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { signedWebhook, startStripe, type StripeSide } from './helpers/stripe.ts';

const DAY = 86_400;

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  stack = await startStack({ BILLING_CATALOGUE: JSON.stringify(CHANGE_CATALOGUE) });
  s = await startStripe(stack);
  await createTeamPlan(s);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

/** A subscriber (an organization's owner with `org`) on `priceId`, its events delivered. */
async function subscriber(priceId: string, opts: { quantity?: number; org?: string } = {}) {
  const user = uid('u');
  const token = await tokenFor({ sub: user, ...(opts.org ? { org: opts.org, role: 'owner' } : {}) });
  const res = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { priceId, ...(opts.quantity ? { quantity: opts.quantity } : {}) } });
  expect(res.status, res.text).toBe(200);
  const done = await s.double.actions.completeCheckout(checkoutSessionIdOf(res.body.url));
  await s.double.idle();
  const item = done.subscription.items.data[0]!;
  return { token, sub: done.subscription.id, customer: done.customer.id, period: { start: item.current_period_start, end: item.current_period_end } };
}

const change = (token: string, body: unknown, path = '/api/stripe/subscription') => call(subscription, 'POST', path, { token, body });
const stateOf = async (token: string) => (await call(subscription, 'GET', '/api/stripe/subscription', { token })).body;

/** The invoices Stripe made for a subscription, newest first. */
const invoicesOf = async (sub: string) => (await s.stripe.invoices.list({ subscription: sub, limit: 100 })).data;

const linesOf = (invoice: Stripe.Invoice) =>
  invoice.lines.data.map((l) => ({ amount: l.amount, proration: l.parent?.subscription_item_details?.proration ?? false, periodStart: new Date(l.period.start * 1000).toISOString(), periodEnd: new Date(l.period.end * 1000).toISOString() }));

describe('POST subscription: answers before any Stripe call', () => {
  it('no subscription: 409 NO_SUBSCRIPTION naming checkout, in the caller dialect', async () => {
    const token = await tokenFor({ sub: uid('u') });
    const flat = await change(token, { priceId: 'pro_monthly' });
    expect(flat).toMatchObject({ status: 409, body: { code: 'NO_SUBSCRIPTION', details: { checkout: '/api/stripe/checkout' } } });
    const env = await change(token, { priceId: 'pro_monthly' }, '/api/billing/subscription');
    expect(env).toMatchObject({ status: 409, body: { success: false, error: { code: 'NO_SUBSCRIPTION', details: { checkout: '/api/billing/checkout' } } } });
  });

  it('bad bodies and prices: 400 with what is wrong; org members who do not manage billing: 403', async () => {
    const { token, period } = await subscriber('basic_monthly');
    expect((await change(token, { priceId: 'gold_monthly' })).body).toMatchObject({ code: 'BAD_REQUEST', error: 'Unknown price' });
    expect((await change(token, { priceId: 'free' })).body).toMatchObject({ code: 'BAD_REQUEST', error: 'Plan free is not sold' });
    expect((await change(token, { priceId: 'pro_monthly', quantity: 3 })).body).toMatchObject({ code: 'BAD_REQUEST', error: 'Plan pro is not sold per seat: quantity must be 1' });
    expect((await change(token, { priceId: 'team_seat_monthly', quantity: 1 })).body).toMatchObject({ code: 'BAD_REQUEST', error: 'Plan team has from 2 to 50 seats: quantity 1 is outside' });
    expect((await change(token, { priceId: 'pro_monthly', prorationDate: period.start - 10 })).body).toMatchObject({ code: 'BAD_REQUEST', error: expect.stringMatching(/^prorationDate is outside/) });
    expect((await change(token, { priceId: 'pro_monthly', color: 'red' })).status).toBe(400);
    expect((await change(token, { priceId: 'pro_monthly', quantity: 2.5 })).status).toBe(400);
    expect((await change(token, 'not json')).status).toBe(400);

    const org = uid('org');
    await subscriber('basic_monthly', { org });
    const member = await tokenFor({ sub: uid('u'), org, role: 'member' });
    expect((await change(member, { priceId: 'pro_monthly' })).status).toBe(403);
    expect((await stateOf(token)).plan).toEqual({ key: 'basic', name: 'Basic' });
  });
});

describe('POST subscription: the preview equals the invoice, to the cent', () => {
  // The first minute, the middle and the last minute of the period.
  const points = [
    ['first minute', (p: { start: number; end: number }) => p.start + 30],
    ['middle', (p: { start: number; end: number }) => p.start + Math.floor((p.end - p.start) / 2) + 7],
    ['last minute', (p: { start: number; end: number }) => p.end - 45],
  ] as const;

  for (const [when, at] of points) {
    it(`upgrade Basic to Pro in the ${when}: charged now, as previewed`, async () => {
      const { token, sub, period } = await subscriber('basic_monthly');
      const prorationDate = at(period);
      const preview = await change(token, { priceId: 'pro_monthly', preview: true, prorationDate });
      expect(preview.status, preview.text).toBe(200);
      expect(preview.body).toMatchObject({ status: 'preview', kind: 'upgrade', from: { plan: { key: 'basic' }, quantity: 1 }, to: { plan: { key: 'pro' }, priceId: 'pro_monthly', quantity: 1 }, prorationDate });
      // Unused time on Basic credited, the rest of the period on Pro charged, by the second.
      const left = (period.end - prorationDate) / (period.end - period.start);
      expect(preview.body.amountDueNow).toBe(Math.round(2900 * left) - Math.round(900 * left));
      expect(preview.body.nextInvoice).toMatchObject({ amount: 2900 });
      const before = (await invoicesOf(sub)).length;

      const done = await change(token, { priceId: 'pro_monthly', prorationDate });
      expect(done.status, done.text).toBe(200);
      expect(done.body).toMatchObject({ status: 'applied', kind: 'upgrade', amountDueNow: preview.body.amountDueNow });
      const invoices = await invoicesOf(sub);
      expect(invoices.length).toBe(before + 1);
      const invoice = invoices[0]!;
      expect(invoice.amount_due).toBe(preview.body.amountDueNow);
      expect(invoice.status).toBe('paid');
      expect(linesOf(invoice)).toEqual(preview.body.lines.map(({ amount, proration, periodStart, periodEnd }: Record<string, unknown>) => ({ amount, proration, periodStart, periodEnd })));
      await s.double.idle();
      expect(await stateOf(token)).toMatchObject({ plan: { key: 'pro' }, subscription: { quantity: 1, pendingChange: null } });
    });

    it(`seats 3 to 7 in the ${when}: charged now, as previewed`, async () => {
      const { token, sub, period } = await subscriber('team_seat_monthly', { quantity: 3, org: uid('org') });
      const prorationDate = at(period);
      const preview = await change(token, { quantity: 7, preview: true, prorationDate });
      expect(preview.body).toMatchObject({ status: 'preview', kind: 'upgrade', from: { quantity: 3 }, to: { plan: { key: 'team' }, quantity: 7 } });
      expect(preview.body.nextInvoice).toMatchObject({ amount: 7 * 1250 });
      const done = await change(token, { quantity: 7, prorationDate });
      expect(done.status, done.text).toBe(200);
      const [invoice] = await invoicesOf(sub);
      expect(invoice!.amount_due).toBe(preview.body.amountDueNow);
      // Four more seats for the time left, by the second (in the last minute, less than a cent).
      const left = (period.end - prorationDate) / (period.end - period.start);
      expect(preview.body.amountDueNow).toBe(Math.round(7 * 1250 * left) - Math.round(3 * 1250 * left));
      await s.double.idle();
      expect((await stateOf(token)).subscription).toMatchObject({ quantity: 7, pendingChange: null });
    });

    it(`downgrade Pro to Basic in the ${when}: nothing now, Basic from the period's end, billed as previewed`, async () => {
      const { token, sub, period } = await subscriber('pro_monthly');
      const prorationDate = at(period);
      const preview = await change(token, { priceId: 'basic_monthly', preview: true, prorationDate });
      expect(preview.body).toMatchObject({ status: 'preview', kind: 'downgrade', amountDueNow: 0, lines: [], effectiveAt: new Date(period.end * 1000).toISOString(), nextInvoice: { amount: 900 } });
      const before = (await invoicesOf(sub)).length;
      const done = await change(token, { priceId: 'basic_monthly', prorationDate });
      expect(done.body).toMatchObject({ status: 'scheduled', kind: 'downgrade', effectiveAt: new Date(period.end * 1000).toISOString() });
      expect((await invoicesOf(sub)).length).toBe(before);
      await s.double.idle();
      expect(await stateOf(token)).toMatchObject({
        plan: { key: 'pro' },
        subscription: { pendingChange: { plan: 'Basic', quantity: 1, effectiveAt: new Date(period.end * 1000).toISOString() } },
      });
      // Stripe applies it at the period's end: the renewal bills Basic, as the preview said.
      const renewed = await s.double.actions.renewPeriod(sub);
      expect(renewed.invoice?.amount_due).toBe(preview.body.nextInvoice.amount);
      await s.double.idle();
      expect(await stateOf(token)).toMatchObject({ plan: { key: 'basic' }, subscription: { pendingChange: null } });
    });
  }
});

describe('POST subscription: scheduled downgrades, seats, failures and races', () => {
  it('a second downgrade replaces the pending one; changing back drops it; an upgrade now drops it too', async () => {
    const org = uid('org');
    const { token, sub, period } = await subscriber('team_seat_monthly', { quantity: 10, org });
    const end = new Date(period.end * 1000).toISOString();
    expect((await change(token, { quantity: 6 })).body).toMatchObject({ status: 'scheduled', kind: 'downgrade', to: { quantity: 6 } });
    expect((await change(token, { quantity: 4 })).body).toMatchObject({ status: 'scheduled', to: { quantity: 4 } });
    await s.double.idle();
    expect((await stateOf(token)).subscription).toMatchObject({ quantity: 10, pendingChange: { plan: 'Team', quantity: 4, effectiveAt: end } });
    const schedules = (await s.stripe.subscriptionSchedules.list({ customer: (await s.stripe.subscriptions.retrieve(sub)).customer as string })).data;
    expect(schedules.filter((x) => x.status === 'active')).toHaveLength(1);

    expect((await change(token, { quantity: 10 })).body).toMatchObject({ status: 'pending_canceled', kind: 'none' });
    await s.double.idle();
    expect((await stateOf(token)).subscription).toMatchObject({ quantity: 10, pendingChange: null });
    expect((await change(token, { quantity: 10 })).body).toMatchObject({ status: 'unchanged', kind: 'none' });

    await change(token, { quantity: 3 });
    expect((await change(token, { quantity: 12 })).body).toMatchObject({ status: 'applied', kind: 'upgrade' });
    await s.double.idle();
    expect((await stateOf(token)).subscription).toMatchObject({ quantity: 12, pendingChange: null });
    // Nothing left to undo it at the period's end.
    await s.double.actions.renewPeriod(sub);
    await s.double.idle();
    expect((await stateOf(token)).subscription).toMatchObject({ quantity: 12, pendingChange: null });
  });

  it("a scheduled downgrade keeps the subscription's metered item in both phases (a phase drops what it leaves out)", async () => {
    const user = uid('u');
    const account = `user:${user}`;
    const token = await tokenFor({ sub: user });
    // A subscription made outside our checkout, with a metered price beside the plan's.
    const customer = await s.stripe.customers.create({ metadata: { account_id: account } });
    const made = await s.stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_pro_monthly' }, { price: 'price_usage_metered' }], metadata: { account_id: account } });
    await s.double.idle();
    expect((await stateOf(token)).plan).toEqual({ key: 'pro', name: 'Pro' });
    expect((await change(token, { priceId: 'basic_monthly' })).body).toMatchObject({ status: 'scheduled', kind: 'downgrade' });
    const schedule = (await s.stripe.subscriptions.retrieve(made.id, { expand: ['schedule'] })).schedule as Stripe.SubscriptionSchedule;
    expect(schedule.phases.map((p) => p.items.map((i) => i.price as string).sort())).toEqual([
      ['price_pro_monthly', 'price_usage_metered'],
      ['price_basic_monthly', 'price_usage_metered'],
    ]);
  });

  it('a declined upgrade leaves the old plan and access unchanged: 402 PAYMENT_FAILED with the invoice to pay', async () => {
    const { token, sub, customer } = await subscriber('basic_monthly');
    const before = await stateOf(token);
    await s.double.actions.nextPaymentFails(customer);
    const res = await change(token, { priceId: 'pro_monthly' });
    expect(res.status, res.text).toBe(402);
    expect(res.body).toMatchObject({ code: 'PAYMENT_FAILED', details: { invoiceUrl: expect.any(String) } });
    const stripeSub = await s.stripe.subscriptions.retrieve(sub);
    expect(stripeSub.items.data[0]!.price.id).toBe('price_basic_monthly');
    expect(stripeSub.pending_update).not.toBeNull();
    await s.double.idle();
    const after = await stateOf(token);
    expect(after).toMatchObject({ state: 'active', hasAccess: true, plan: { key: 'basic' }, subscription: { priceId: 'price_basic_monthly', pendingChange: null } });
    expect(after.accessUntil).toBe(before.accessUntil);
  });

  it('a double click on confirm makes one change and one invoice', async () => {
    const { token, sub, period } = await subscriber('basic_monthly');
    const prorationDate = period.start + 3 * DAY;
    const before = (await invoicesOf(sub)).length;
    const [a, b] = await Promise.all([change(token, { priceId: 'pro_monthly', prorationDate }), change(token, { priceId: 'pro_monthly', prorationDate })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect([a.body.status, b.body.status].sort()).toEqual(['applied', 'unchanged']);
    expect((await invoicesOf(sub)).length).toBe(before + 1);
  });

  it('concurrent changes are serialized: the answers chain one after another, and Stripe ends where the chain does', async () => {
    const { token, sub } = await subscriber('team_seat_monthly', { quantity: 5, org: uid('org') });
    // Upgrades (now) and downgrades (a schedule) at once: without the lock, a schedule made
    // from a stale read puts the old seats back in its first phase, and answers overlap.
    const asked = [9, 3, 7, 2, 11, 4];
    const answers = (await Promise.all(asked.map((quantity) => change(token, { quantity })))).map((a) => {
      expect(a.status, a.text).toBe(200);
      return a.body as { status: string; from: { quantity: number }; to: { quantity: number } };
    });
    // Serialized means some order of the answers in which each one started from what the
    // ones before left: seats in force (changed by `applied`) and the pending downgrade.
    // Two answers from the same state can be in either order: every such order is a possible end.
    type End = { seats: number; pending: number | null };
    const ends: End[] = [];
    (function chain(left: typeof answers, at: End): void {
      if (left.length === 0) return void ends.push(at);
      for (const [i, a] of left.entries()) {
        if (a.from.quantity !== at.seats) continue;
        const next: End = a.status === 'applied' ? { seats: a.to.quantity, pending: null }
          : a.status === 'scheduled' ? { seats: at.seats, pending: a.to.quantity }
          : { seats: at.seats, pending: null };
        chain(left.filter((_, j) => j !== i), next);
      }
    })(answers, { seats: 5, pending: null });
    expect(ends.length, JSON.stringify(answers)).toBeGreaterThan(0);
    const stripeSub = await s.stripe.subscriptions.retrieve(sub, { expand: ['schedule'] });
    const schedule = typeof stripeSub.schedule === 'object' && stripeSub.schedule?.status === 'active' ? stripeSub.schedule : null;
    const phases = schedule?.phases.map((p) => p.items[0]!.quantity) ?? [];
    // Stripe ends where one of those orders ends, with a pending downgrade's first phase on the seats in force.
    const stripeEnd: End = { seats: stripeSub.items.data[0]!.quantity!, pending: phases[1] ?? null };
    expect(ends).toContainEqual(stripeEnd);
    if (schedule) expect(phases[0]).toBe(stripeEnd.seats);
  });
});
