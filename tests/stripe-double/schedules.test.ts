/**
 * Subscription schedules as Stripe runs them: made from a subscription (one phase until the
 * period's end), phases rewritten, the next phase applied at the period's end before the
 * renewal invoice, completed after the last phase, released or canceled; their events, and the
 * subscription's `schedule` (expandable down to the phases' prices).
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { SECRET, setup, startReceiver, stripeError, subscribe, type Receiver } from './helpers.ts';

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
});

async function proSubscriber() {
  const done = await subscribe(double, stripe, { price: 'price_pro_monthly' });
  await double.idle();
  receiver.received.length = 0;
  const item = done.subscription.items.data[0]!;
  return { sub: done.subscription, customer: done.customer.id, item, period: { start: item.current_period_start, end: item.current_period_end } };
}

/** The lead's downgrade at the period's end: a schedule whose second phase holds Basic. */
async function scheduleDowngrade(sub: Stripe.Subscription, period: { start: number; end: number }) {
  const created = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
  return stripe.subscriptionSchedules.update(created.id, {
    end_behavior: 'release',
    proration_behavior: 'none',
    phases: [
      { items: [{ price: 'price_pro_monthly', quantity: 1 }], start_date: created.current_phase!.start_date, end_date: period.end },
      { items: [{ price: 'price_basic_monthly', quantity: 1 }], duration: { interval: 'month', interval_count: 1 } },
    ],
  });
}

describe('a downgrade at the period end by a schedule', () => {
  it('from_subscription: one phase, the subscription’s items until its period ends; the subscription names it', async () => {
    const { sub, customer, period } = await proSubscriber();
    const sched = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    expect(sched).toMatchObject({
      object: 'subscription_schedule',
      status: 'active',
      customer,
      subscription: sub.id,
      end_behavior: 'release',
      current_phase: { start_date: period.start, end_date: period.end },
      phases: [{ start_date: period.start, end_date: period.end, items: [{ price: 'price_pro_monthly', quantity: 1 }] }],
    });
    expect((await stripe.subscriptions.retrieve(sub.id)).schedule).toBe(sched.id);
    await double.idle();
    expect(receiver.types()).toEqual(['subscription_schedule.created', 'customer.subscription.updated']);
    const updated = receiver.received[1]!.event as Stripe.CustomerSubscriptionUpdatedEvent;
    expect(updated.data.previous_attributes).toEqual({ schedule: null });

    const again = await stripeError(stripe.subscriptionSchedules.create({ from_subscription: sub.id }));
    expect(again).toMatchObject({ statusCode: 400, message: expect.stringContaining(sched.id) });
    const cancel = await stripeError(stripe.subscriptions.update(sub.id, { cancel_at_period_end: true }));
    expect(cancel).toMatchObject({ statusCode: 400, message: expect.stringContaining('managed by the subscription schedule') });
  });

  it('the next phase starts at the period end: new items before the renewal invoice, which equals the preview; then the schedule completes', async () => {
    const { sub, item, period } = await proSubscriber();
    const sched = await scheduleDowngrade(sub, period);
    expect(sched.phases.map((p) => [p.start_date, p.end_date, p.items[0]!.price])).toEqual([
      [period.start, period.end, 'price_pro_monthly'],
      [period.end, expect.any(Number), 'price_basic_monthly'],
    ]);
    // Nothing changes now.
    const now = await stripe.subscriptions.retrieve(sub.id, { expand: ['schedule.phases.items.price'] });
    expect(now.items.data[0]!.price.id).toBe('price_pro_monthly');
    const expanded = now.schedule as Stripe.SubscriptionSchedule;
    expect(expanded.current_phase).toEqual({ start_date: period.start, end_date: period.end });
    expect((expanded.phases[1]!.items[0]!.price as Stripe.Price).unit_amount).toBe(900);
    // The upcoming invoice is the first one on Basic.
    const upcoming = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(upcoming.amount_due).toBe(900);
    await double.idle();
    receiver.received.length = 0;

    const renewed = await double.actions.renewPeriod(sub.id);
    const types = renewed.events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['customer.subscription.updated', 'subscription_schedule.updated', 'invoice.created']);
    const phaseStart = renewed.events[0] as Stripe.CustomerSubscriptionUpdatedEvent;
    // Stripe matches phase items to subscription items by price: a new price is a new item.
    expect(phaseStart.data.object.items.data.map((i) => [i.price.id, i.id === item.id])).toEqual([['price_basic_monthly', false]]);
    expect(renewed.invoice).toMatchObject({ amount_due: upcoming.amount_due, billing_reason: 'subscription_cycle' });
    expect(renewed.invoice!.lines.data.map((l) => l.amount)).toEqual(upcoming.lines.data.map((l) => l.amount));
    expect(renewed.subscription.schedule).toBe(sched.id);

    // The second (last) phase ends: release -> completed, the subscription carries on alone on Basic.
    const next = await double.actions.renewPeriod(sub.id);
    expect(next.events.map((e) => e.type).slice(0, 2)).toEqual(['subscription_schedule.completed', 'customer.subscription.updated']);
    expect(next.subscription).toMatchObject({ schedule: null, status: 'active', items: { data: [{ price: { id: 'price_basic_monthly' } }] } });
    expect(next.invoice!.amount_due).toBe(900);
    expect(await stripe.subscriptionSchedules.retrieve(sched.id)).toMatchObject({ status: 'completed', current_phase: null, completed_at: expect.any(Number) });
  });

  it('release: the subscription keeps its items and loses the schedule; released_subscription names it', async () => {
    const { sub, period, customer } = await proSubscriber();
    const sched = await scheduleDowngrade(sub, period);
    await double.idle();
    receiver.received.length = 0;
    const released = await stripe.subscriptionSchedules.release(sched.id);
    expect(released).toMatchObject({ status: 'released', subscription: null, released_subscription: sub.id, released_at: expect.any(Number), current_phase: null });
    await double.idle();
    expect(receiver.types()).toEqual(['subscription_schedule.released', 'customer.subscription.updated']);
    const after = await double.actions.renewPeriod(sub.id);
    expect(after.subscription).toMatchObject({ schedule: null, items: { data: [{ price: { id: 'price_pro_monthly' } }] } });
    expect(after.invoice!.amount_due).toBe(2900);
    expect(await stripeError(stripe.subscriptionSchedules.release(sched.id))).toMatchObject({ statusCode: 400 });
    const listed = await stripe.subscriptionSchedules.list({ customer });
    expect(listed.data.map((s) => [s.id, s.status])).toEqual([[sched.id, 'released']]);
  });

  it('cancel: the schedule and its subscription end now', async () => {
    const { sub, period } = await proSubscriber();
    const sched = await scheduleDowngrade(sub, period);
    await double.idle();
    receiver.received.length = 0;
    expect(await stripe.subscriptionSchedules.cancel(sched.id)).toMatchObject({ status: 'canceled', canceled_at: expect.any(Number) });
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('canceled');
    await double.idle();
    expect(receiver.types()).toEqual(['subscription_schedule.canceled', 'customer.subscription.deleted']);
  });

  it('end_behavior cancel: the subscription shows cancel_at and ends with the last phase; the schedule completes', async () => {
    const { sub, period } = await proSubscriber();
    const created = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    await stripe.subscriptionSchedules.update(created.id, { end_behavior: 'cancel', phases: [{ items: [{ price: 'price_pro_monthly' }], start_date: period.start, end_date: period.end }] });
    expect((await stripe.subscriptions.retrieve(sub.id)).cancel_at).toBe(period.end);
    const ended = await double.actions.renewPeriod(sub.id);
    expect(ended.events.map((e) => e.type)).toEqual(['customer.subscription.deleted', 'subscription_schedule.completed']);
  });

  it('refuses to move the current phase’s start; a schedule for a customer starts its subscription now', async () => {
    const { sub, period, customer } = await proSubscriber();
    const created = await stripe.subscriptionSchedules.create({ from_subscription: sub.id });
    const moved = await stripeError(
      stripe.subscriptionSchedules.update(created.id, { phases: [{ items: [{ price: 'price_pro_monthly' }], start_date: period.start + 60, end_date: period.end }] }),
    );
    expect(moved).toMatchObject({ statusCode: 400, param: 'phases[0][start_date]' });

    const fresh = await stripe.subscriptionSchedules.create({
      customer,
      start_date: 'now',
      phases: [{ items: [{ price: 'price_basic_monthly', quantity: 2 }], duration: { interval: 'month' } }, { items: [{ price: 'price_pro_monthly' }] }],
    });
    expect(fresh).toMatchObject({ status: 'active', subscription: expect.stringMatching(/^sub_/) });
    const made = await stripe.subscriptions.retrieve(fresh.subscription as string, { expand: ['latest_invoice'] });
    expect(made).toMatchObject({ status: 'active', schedule: fresh.id, items: { data: [{ price: { id: 'price_basic_monthly' }, quantity: 2 }] } });
    expect((made.latest_invoice as Stripe.Invoice).amount_paid).toBe(1800);
  });
});
