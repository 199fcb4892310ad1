/** Test actions: state changes, the event sequences Stripe would send, and signed webhook delivery. */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addMonths } from '../../dev/stripe-double/clock.ts';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { clockSpan, SECRET, setup, startReceiver, stripeError, subscribe, type Receiver } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
  ({ double, stripe } = await setup({ webhook: { url: receiver.url, secret: SECRET } }));
});
afterAll(async () => {
  await double.close();
  await receiver.close();
});
beforeEach(async () => {
  await double.idle();
  receiver.received.length = 0;
  receiver.rejected.length = 0;
  receiver.status = 200;
});

const types = (events: Stripe.Event[]) => events.map((e) => e.type);

describe('completeCheckout', () => {
  it('new customer, paid: Stripe’s event order, delivered signed and in order', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer_email: 'new@example.com',
      client_reference_id: 'user:1',
      line_items: [{ price: 'price_basic_monthly', quantity: 1 }],
      subscription_data: { metadata: { account_id: 'user:1' } },
      success_url: 'https://x.example/ok',
    });
    const span = clockSpan(double);
    const done = await double.actions.completeCheckout(session.id);
    expect(types(done.events)).toEqual([
      'customer.created',
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
      'customer.subscription.updated',
      'checkout.session.completed',
    ]);
    // Snapshots at the time of each event.
    const byType = (t: string) => done.events.find((e) => e.type === t)!.data;
    expect((byType('customer.subscription.created').object as Stripe.Subscription).status).toBe('incomplete');
    expect((byType('invoice.created').object as Stripe.Invoice).status).toBe('draft');
    expect((byType('invoice.finalized').object as Stripe.Invoice).status).toBe('open');
    expect((byType('invoice.paid').object as Stripe.Invoice)).toMatchObject({ status: 'paid', amount_paid: 900 });
    const updated = byType('customer.subscription.updated');
    expect((updated.object as Stripe.Subscription).status).toBe('active');
    expect(updated.previous_attributes).toEqual({ status: 'incomplete' });
    const completed = byType('checkout.session.completed').object as Stripe.Checkout.Session;
    expect(completed).toMatchObject({
      status: 'complete',
      payment_status: 'paid',
      customer: done.customer.id,
      subscription: done.subscription.id,
      client_reference_id: 'user:1',
      url: null,
    });
    expect(done.customer.email).toBe('new@example.com');
    expect(done.subscription.metadata).toEqual({ account_id: 'user:1' });
    expect(done.invoice.parent?.subscription_details?.subscription).toBe(done.subscription.id);

    for (const e of done.events) {
      expect(e.id).toMatch(/^evt_/);
      expect(e.api_version).toBe('2026-10-28.endive');
      expect(span.contains(e.created)).toBe(true);
      expect(e.request).toEqual({ id: null, idempotency_key: null });
      expect(e.pending_webhooks).toBe(1);
    }
    expect(new Set(done.events.map((e) => e.id)).size).toBe(done.events.length);
    expect(done.deliveries.map((d) => [d.eventId, d.status])).toEqual(done.events.map((e) => [e.id, 200]));
    expect(receiver.rejected).toEqual([]);
    expect(receiver.types()).toEqual(types(done.events));
    expect(receiver.received.map((r) => r.event)).toEqual(JSON.parse(JSON.stringify(done.events)).map((e: Stripe.Event) => ({ ...e })));
    // Stored and retrievable, with pending_webhooks cleared once delivered.
    expect((await stripe.events.retrieve(done.events[0]!.id)).pending_webhooks).toBe(0);
  });

  it('existing customer with a trial: trialing subscription and a $0 paid invoice, no customer.created', async () => {
    const span = clockSpan(double);
    const done = await subscribe(double, stripe, { trialDays: 14 });
    expect(types(done.events)).toEqual([
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.paid',
      'invoice.payment_succeeded',
      'checkout.session.completed',
    ]);
    const now = done.subscription.trial_start!;
    expect(span.contains(now)).toBe(true);
    expect(done.subscription).toMatchObject({ status: 'trialing', trial_end: now + 14 * 86_400 });
    expect(done.subscription.items.data[0]!.current_period_end).toBe(now + 14 * 86_400);
    expect(done.invoice).toMatchObject({ status: 'paid', amount_due: 0, total: 0 });
    expect(done.invoice.lines.data[0]!.description).toBe('Trial period for Basic');
    expect(done.session.payment_status).toBe('no_payment_required');
  });

  it('payment fails: invoice.payment_failed, the subscription stays incomplete, and a later payment activates it', async () => {
    const done = await subscribe(double, stripe, { paymentFails: true });
    expect(types(done.events)).toEqual([
      'customer.subscription.created',
      'invoice.created',
      'invoice.finalized',
      'invoice.payment_failed',
      'checkout.session.completed',
    ]);
    expect(done.subscription.status).toBe('incomplete');
    expect(done.invoice).toMatchObject({ status: 'open', attempt_count: 1, attempted: true, amount_remaining: 900 });
    expect(done.session.payment_status).toBe('unpaid');

    const paid = await double.actions.payInvoice(done.invoice.id);
    expect(types(paid.events)).toEqual(['invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.updated']);
    expect(paid.subscription?.status).toBe('active');
    expect(paid.events[2]!.data.previous_attributes).toEqual({ status: 'incomplete' });
  });

  it('cannot complete a session twice, nor an unknown one', async () => {
    const done = await subscribe(double, stripe);
    await expect(double.actions.completeCheckout(done.session.id)).rejects.toThrow(/complete/);
    await expect(double.actions.completeCheckout('cs_test_nope')).rejects.toThrow("No such checkout.session: 'cs_test_nope'");
  });
});

describe('expireCheckout', () => {
  it('sends checkout.session.expired', async () => {
    const session = await stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: 'price_basic_monthly', quantity: 1 }] });
    const r = await double.actions.expireCheckout(session.id);
    expect(types(r.events)).toEqual(['checkout.session.expired']);
    expect(r.session).toMatchObject({ status: 'expired', url: null });
    expect(receiver.types()).toEqual(['checkout.session.expired']);
  });
});

describe('renewPeriod', () => {
  it('advances the clock to the period end and bills the next month', async () => {
    const done = await subscribe(double, stripe);
    const item = done.subscription.items.data[0]!;
    const r = await double.actions.renewPeriod(done.subscription.id);
    expect(double.clock.now() - item.current_period_end).toBeGreaterThanOrEqual(0);
    expect(double.clock.now() - item.current_period_end).toBeLessThanOrEqual(2);
    expect(types(r.events)).toEqual(['invoice.created', 'customer.subscription.updated', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded']);
    const next = r.subscription.items.data[0]!;
    expect(next.current_period_start).toBe(item.current_period_end);
    // Two calendar months after the anchor (the creation time, where the first period starts), clamped to the month's length.
    expect(r.subscription.billing_cycle_anchor).toBe(item.current_period_start);
    expect(next.current_period_end).toBe(addMonths(item.current_period_start, 2));
    expect(next.current_period_end - next.current_period_start).toBeGreaterThanOrEqual(28 * 86_400);
    expect(next.current_period_end - next.current_period_start).toBeLessThanOrEqual(31 * 86_400);
    const prev = r.events[1]!.data.previous_attributes as Partial<Stripe.Subscription>;
    expect(prev.latest_invoice).toBe(done.invoice.id);
    expect(prev.items?.data?.[0]?.current_period_end).toBe(item.current_period_end);
    expect(r.invoice).toMatchObject({ billing_reason: 'subscription_cycle', status: 'paid', amount_paid: 900, period_start: item.current_period_start, period_end: item.current_period_end });
    expect(r.events.every((e) => e.created - item.current_period_end <= 2 && e.created >= item.current_period_end)).toBe(true);
  });

  it('payment fails: invoice.payment_failed and past_due, then payInvoice brings it back', async () => {
    const done = await subscribe(double, stripe);
    const r = await double.actions.renewPeriod(done.subscription.id, { paymentFails: true });
    expect(types(r.events)).toEqual(['invoice.created', 'customer.subscription.updated', 'invoice.finalized', 'invoice.payment_failed', 'customer.subscription.updated']);
    expect(r.subscription.status).toBe('past_due');
    expect(r.events[4]!.data.previous_attributes).toEqual({ status: 'active' });
    expect(r.invoice).toMatchObject({ status: 'open', attempt_count: 1 });
    expect(r.invoice!.next_payment_attempt).toBeGreaterThan(double.clock.now());

    const failedAgain = await double.actions.failInvoice(r.invoice!.id);
    expect(types(failedAgain.events)).toEqual(['invoice.payment_failed']);
    expect(failedAgain.invoice.attempt_count).toBe(2);

    const paid = await double.actions.payInvoice(r.invoice!.id);
    expect(types(paid.events)).toEqual(['invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.updated']);
    expect(paid.subscription?.status).toBe('active');
    await expect(double.actions.payInvoice(r.invoice!.id)).rejects.toThrow('Invoice is already paid');
  });

  it('ends a trial: trialing -> active with a paid invoice, or past_due when the payment fails', async () => {
    const ok = await subscribe(double, stripe, { trialDays: 7 });
    const r = await double.actions.renewPeriod(ok.subscription.id);
    expect(r.subscription.status).toBe('active');
    expect(r.events[1]!.data.previous_attributes).toMatchObject({ status: 'trialing' });
    expect(r.invoice).toMatchObject({ amount_paid: 900, status: 'paid' });

    const bad = await subscribe(double, stripe, { trialDays: 7 });
    const f = await double.actions.renewPeriod(bad.subscription.id, { paymentFails: true });
    expect(f.subscription.status).toBe('past_due');
    expect(types(f.events)).toContain('invoice.payment_failed');
  });

  it('a subscription set to cancel at period end is deleted at the period end instead', async () => {
    const done = await subscribe(double, stripe);
    await double.actions.scheduleCancel(done.subscription.id);
    const end = done.subscription.items.data[0]!.current_period_end;
    const r = await double.actions.renewPeriod(done.subscription.id);
    expect(types(r.events)).toEqual(['customer.subscription.deleted']);
    expect(r.subscription).toMatchObject({ status: 'canceled', ended_at: end });
    expect(r.invoice).toBeUndefined();
  });
});

describe('failInvoice', () => {
  it('records a failed attempt; an incomplete subscription stays incomplete; a paid invoice cannot fail', async () => {
    const customer = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_pro_monthly' }], payment_behavior: 'default_incomplete' });
    const f = await double.actions.failInvoice(sub.latest_invoice as string, { deliver: false });
    expect(types(f.events)).toEqual(['invoice.payment_failed']);
    expect(f.deliveries).toEqual([]);
    expect(f.invoice).toMatchObject({ status: 'open', attempt_count: 1 });
    expect(f.subscription?.status).toBe('incomplete');
    await double.actions.payInvoice(sub.latest_invoice as string);
    await expect(double.actions.failInvoice(sub.latest_invoice as string)).rejects.toThrow(/open invoices/);
  });
});

describe('scheduleCancel, cancelNow', () => {
  it('sets and clears cancel_at_period_end with previous_attributes', async () => {
    const done = await subscribe(double, stripe);
    const set = await double.actions.scheduleCancel(done.subscription.id, true);
    expect(types(set.events)).toEqual(['customer.subscription.updated']);
    expect(set.subscription).toMatchObject({ cancel_at_period_end: true, cancel_at: done.subscription.items.data[0]!.current_period_end });
    expect(set.events[0]!.data.previous_attributes).toMatchObject({ cancel_at_period_end: false, cancel_at: null, canceled_at: null });

    const cleared = await double.actions.scheduleCancel(done.subscription.id, false);
    expect(cleared.subscription).toMatchObject({ cancel_at_period_end: false, cancel_at: null, canceled_at: null });
    expect(cleared.events[0]!.data.previous_attributes).toMatchObject({ cancel_at_period_end: true });
  });

  it('cancelNow and deleteSubscription: customer.subscription.deleted with ended_at and canceled_at', async () => {
    const a = await subscribe(double, stripe);
    const span = clockSpan(double);
    const r = await double.actions.cancelNow(a.subscription.id);
    expect(types(r.events)).toEqual(['customer.subscription.deleted']);
    expect(r.subscription.status).toBe('canceled');
    expect(span.contains(r.subscription.ended_at)).toBe(true);
    expect(r.subscription.canceled_at).toBe(r.subscription.ended_at);
    const b = await subscribe(double, stripe);
    const d = await double.actions.deleteSubscription(b.subscription.id);
    expect((d.events[0]!.data.object as Stripe.Subscription).status).toBe('canceled');
  });
});

describe('trialWillEnd, pause, resume', () => {
  it('trial_will_end for trialing subscriptions only', async () => {
    const t = await subscribe(double, stripe, { trialDays: 3 });
    const r = await double.actions.trialWillEnd(t.subscription.id);
    expect(types(r.events)).toEqual(['customer.subscription.trial_will_end']);
    const paid = await subscribe(double, stripe);
    await expect(double.actions.trialWillEnd(paid.subscription.id)).rejects.toThrow(/not trialing/);
  });

  it('pause -> paused, resume -> active with a new period', async () => {
    const t = await subscribe(double, stripe, { trialDays: 3 });
    const p = await double.actions.pause(t.subscription.id);
    expect(types(p.events)).toEqual(['customer.subscription.updated', 'customer.subscription.paused']);
    expect(p.subscription.status).toBe('paused');
    double.clock.advance(86_400);
    const span = clockSpan(double);
    const r = await double.actions.resume(t.subscription.id);
    expect(types(r.events)).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.resumed', 'customer.subscription.updated']);
    expect(r.subscription.status).toBe('active');
    expect(span.contains(r.subscription.items.data[0]!.current_period_start)).toBe(true);
  });
});

describe('events from API calls', () => {
  it('subscriptions.update and subscriptions.cancel emit and deliver their events, carrying the request', async () => {
    const done = await subscribe(double, stripe);
    receiver.received.length = 0;
    const updated = await stripe.subscriptions.update(done.subscription.id, { cancel_at_period_end: true, metadata: { why: 'x' } }, { idempotencyKey: 'upd-evt-1' });
    await double.idle();
    expect(receiver.types()).toEqual(['customer.subscription.updated']);
    const evt = receiver.received[0]!.event;
    expect(evt.request).toEqual({ id: updated.lastResponse.requestId, idempotency_key: 'upd-evt-1' });
    expect(evt.data.previous_attributes).toMatchObject({ cancel_at_period_end: false, cancel_at: null, metadata: { why: null } });

    await stripe.subscriptions.cancel(done.subscription.id);
    await double.idle();
    expect(receiver.types()).toEqual(['customer.subscription.updated', 'customer.subscription.deleted']);
  });

  it('customers.create and update emit customer.created / customer.updated', async () => {
    const c = await stripe.customers.create({ email: 'e@example.com' });
    await stripe.customers.update(c.id, { name: 'E' });
    await double.idle();
    expect(receiver.types()).toEqual(['customer.created', 'customer.updated']);
    expect(receiver.received[1]!.event.data.previous_attributes).toEqual({ name: null });
  });

  it('an update that changes nothing sends nothing', async () => {
    const done = await subscribe(double, stripe, { deliver: false });
    await double.idle();
    receiver.received.length = 0;
    await stripe.subscriptions.update(done.subscription.id, { metadata: { account_id: 'acct_1' } });
    await double.idle();
    expect(receiver.received).toEqual([]);
  });
});

describe('webhook signatures and redelivery', () => {
  it('signs exactly like Stripe: stripe-node accepts it, and rejects a wrong secret or a tampered body', async () => {
    const payload = JSON.stringify({ id: 'evt_x', object: 'event' });
    const header = double.sign(payload, SECRET);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(stripe.webhooks.constructEvent(payload, header, SECRET)).toEqual({ id: 'evt_x', object: 'event' });
    expect(() => stripe.webhooks.constructEvent(payload, header, 'whsec_other')).toThrow(Stripe.errors.StripeSignatureVerificationError);
    expect(() => stripe.webhooks.constructEvent(`${payload} `, header, SECRET)).toThrow(Stripe.errors.StripeSignatureVerificationError);
    const expected = stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET, timestamp: 1_700_000_000 });
    expect(double.sign(payload, SECRET, 1_700_000_000)).toBe(expected);
    const old = double.sign(payload, SECRET, Math.floor(Date.now() / 1000) - 3600);
    expect(() => stripe.webhooks.constructEvent(payload, old, SECRET)).toThrow(/tolerance/);
  });

  it('delivers pretty-printed JSON with Stripe’s headers', async () => {
    await stripe.customers.create({ email: 'hdr@example.com' });
    await double.idle();
    const { raw } = receiver.received[0]!;
    expect(raw).toBe(JSON.stringify(JSON.parse(raw), null, 2));
  });

  it('redelivers events in any order, and to another endpoint with another secret', async () => {
    const done = await subscribe(double, stripe, { deliver: false });
    expect(done.deliveries).toEqual([]);
    await double.idle();
    expect(receiver.types()).toEqual(['customer.created']);
    receiver.received.length = 0;
    const reversed = [...done.events].reverse();
    for (const e of reversed) expect((await double.deliver(e)).status).toBe(200);
    expect(receiver.types()).toEqual(types(reversed));

    const other = await startReceiver('whsec_other_endpoint');
    try {
      const r = await double.deliver(done.events[0]!, { url: other.url, secret: 'whsec_other_endpoint' });
      expect(r.status).toBe(200);
      expect(other.received.map((x) => x.event.id)).toEqual([done.events[0]!.id]);
      const wrong = await double.deliver(done.events[0]!, { url: other.url, secret: 'whsec_wrong' });
      expect(wrong.status).toBe(400);
      expect(other.rejected).toHaveLength(1);
    } finally {
      await other.close();
    }
  });

  it('reports the endpoint’s status, and 0 when it is unreachable', async () => {
    receiver.status = 500;
    const failing = await double.actions.expireCheckout(
      (await stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: 'price_basic_monthly', quantity: 1 }] })).id,
    );
    expect(failing.deliveries.map((d) => d.status)).toEqual([500]);
    expect((await stripe.events.retrieve(failing.events[0]!.id)).pending_webhooks).toBe(1);

    double.setWebhook({ url: 'http://127.0.0.1:9/unreachable', secret: SECRET });
    try {
      const r = await double.actions.expireCheckout(
        (await stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: 'price_basic_monthly', quantity: 1 }] })).id,
      );
      expect(r.deliveries[0]).toMatchObject({ status: 0, error: expect.any(String) });
      double.setWebhook(null);
      const none = await double.actions.expireCheckout(
        (await stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: 'price_basic_monthly', quantity: 1 }] })).id,
      );
      expect(none.deliveries).toEqual([]);
      expect(none.events[0]!.pending_webhooks).toBe(0);
    } finally {
      double.setWebhook({ url: receiver.url, secret: SECRET });
    }
  });
});

describe('/_double HTTP control', () => {
  const control = async (path: string, body?: unknown) => {
    const res = await fetch(`${double.url}/_double${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('runs actions from JSON requests', async () => {
    const session = await stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: 'price_pro_monthly', quantity: 1 }] });
    const done = await control(`/checkout/sessions/${session.id}/complete`, { trialDays: 5 });
    expect(done.status).toBe(200);
    const sub = done.body.subscription as Stripe.Subscription;
    expect(sub.status).toBe('trialing');
    expect((done.body.events as Stripe.Event[]).map((e) => e.type)).toContain('checkout.session.completed');
    const renewed = await control(`/subscriptions/${sub.id}/renew`, { paymentFails: true });
    expect((renewed.body.subscription as Stripe.Subscription).status).toBe('past_due');
    const cancel = await control(`/subscriptions/${sub.id}/schedule-cancel`, { atPeriodEnd: true });
    expect((cancel.body.subscription as Stripe.Subscription).cancel_at_period_end).toBe(true);
    const missing = await control('/subscriptions/sub_nope/cancel');
    expect(missing.status).toBe(404);
    const bad = await control(`/subscriptions/${sub.id}/renew`, { paymentFails: 'yes' });
    expect(bad.status).toBe(400);
    const before = double.clock.now();
    const clock = await control('/clock/advance', { seconds: 60 });
    expect(clock.body.now).toBe(before + 60);
  });

  it('injects faults over HTTP', async () => {
    const r = await control('/faults', { method: 'GET', path: '^/v1/customers$', status: 503 });
    expect(r.status).toBe(200);
    const err = await stripeError(stripe.customers.list());
    expect(err.statusCode).toBe(503);
    await expect(stripe.customers.list()).resolves.toMatchObject({ object: 'list' });
  });
});
