/** Billing meters, meter events (deduplicated by identifier) and event summaries. */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { setup, stripeError, subscribe } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
beforeAll(async () => {
  ({ double, stripe } = await setup());
});
afterAll(() => double.close());

const HOUR = 3600;
/** Start of the current hour on the double's clock, minus `hoursBack`. */
const hourStart = (hoursBack = 0) => {
  const now = double.clock.now();
  return now - (now % HOUR) - hoursBack * HOUR;
};

async function record(customer: string, value: number, timestamp: number, identifier?: string) {
  return stripe.billing.meterEvents.create({
    event_name: 'tracked_events',
    payload: { stripe_customer_id: customer, value: String(value) },
    timestamp,
    ...(identifier ? { identifier } : {}),
  });
}

describe('meters', () => {
  it('lists and retrieves the seeded meter', async () => {
    const list = await stripe.billing.meters.list();
    expect(list.data.map((m) => m.id)).toEqual(['mtr_double_events']);
    const meter = await stripe.billing.meters.retrieve('mtr_double_events');
    expect(meter).toMatchObject({
      object: 'billing.meter',
      event_name: 'tracked_events',
      default_aggregation: { formula: 'sum' },
      customer_mapping: { event_payload_key: 'stripe_customer_id', type: 'by_id' },
      value_settings: { event_payload_key: 'value' },
      status: 'active',
    });
  });
});

describe('meter events', () => {
  it('accepts an event and answers it back', async () => {
    const customer = await stripe.customers.create({});
    const ts = double.clock.now() - 10;
    const event = await record(customer.id, 7, ts, 'evt-accept-1');
    expect(event).toMatchObject({
      object: 'billing.meter_event',
      event_name: 'tracked_events',
      identifier: 'evt-accept-1',
      timestamp: ts,
      payload: { stripe_customer_id: customer.id, value: '7' },
    });
    const generated = await record(customer.id, 1, ts);
    expect(generated.identifier).toEqual(expect.any(String));
    expect(generated.identifier).not.toBe('');
  });

  it('refuses a second event with the same identifier, as Stripe does (400, not retryable), and does not count it', async () => {
    const customer = await stripe.customers.create({});
    const start = hourStart(1);
    await record(customer.id, 5, start + 60, 'dup-1');
    const err = await stripeError(record(customer.id, 5, start + 60, 'dup-1'));
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe('An event already exists with identifier dup-1.');
    expect(err.headers?.['stripe-should-retry']).toBe('false');
    const summary = await stripe.billing.meters.listEventSummaries('mtr_double_events', { customer: customer.id, start_time: start, end_time: start + HOUR });
    expect(summary.data[0]!.aggregated_value).toBe(5);
    // A retry of the *same request* (same Idempotency-Key) is a replay, not a duplicate.
    const key = `meter-${Date.now()}`;
    const params = { event_name: 'tracked_events', payload: { stripe_customer_id: customer.id, value: '2' }, identifier: 'dup-2', timestamp: start + 120 };
    const a = await stripe.billing.meterEvents.create(params, { idempotencyKey: key });
    const b = await stripe.billing.meterEvents.create(params, { idempotencyKey: key });
    expect(b).toEqual(a);
  });

  it('lets an identifier be used again once the 24 hour window has passed', async () => {
    const customer = await stripe.customers.create({});
    await record(customer.id, 1, double.clock.now(), 'window-1');
    double.clock.advance(24 * HOUR + 1);
    await expect(record(customer.id, 1, double.clock.now(), 'window-1')).resolves.toMatchObject({ identifier: 'window-1' });
  });

  it('refuses timestamps older than 35 days or more than 5 minutes ahead', async () => {
    const customer = await stripe.customers.create({});
    const old = await stripeError(record(customer.id, 1, double.clock.now() - 36 * 24 * HOUR));
    expect(old).toMatchObject({ statusCode: 400, param: 'timestamp' });
    const future = await stripeError(record(customer.id, 1, double.clock.now() + 600));
    expect(future.param).toBe('timestamp');
  });
});

describe('meter event summaries', () => {
  it('add up per customer over a range, and per hour or day', async () => {
    const a = await stripe.customers.create({});
    const b = await stripe.customers.create({});
    const start = hourStart(3);
    await record(a.id, 10, start + 5);
    await record(a.id, 2.5, start + 1800);
    await record(a.id, 4, start + HOUR + 1);
    await record(a.id, 1, start + 2 * HOUR + 59);
    await record(b.id, 100, start + 10);

    const whole = await stripe.billing.meters.listEventSummaries('mtr_double_events', {
      customer: a.id,
      start_time: start,
      end_time: start + 3 * HOUR,
    });
    expect(whole.data).toHaveLength(1);
    expect(whole.data[0]).toMatchObject({ object: 'billing.meter_event_summary', meter: 'mtr_double_events', aggregated_value: 17.5, start_time: start, end_time: start + 3 * HOUR });
    expect(whole.data[0]!.id).toMatch(/^mtrusg_/);

    const hourly = await stripe.billing.meters.listEventSummaries('mtr_double_events', {
      customer: a.id,
      start_time: start,
      end_time: start + 3 * HOUR,
      value_grouping_window: 'hour',
    });
    expect(hourly.data.map((s) => [s.start_time - start, s.aggregated_value])).toEqual([
      [2 * HOUR, 1],
      [HOUR, 4],
      [0, 12.5],
    ]);
    expect(hourly.data.reduce((sum, s) => sum + s.aggregated_value, 0)).toBe(whole.data[0]!.aggregated_value);

    const firstHour = await stripe.billing.meters.listEventSummaries('mtr_double_events', { customer: a.id, start_time: start, end_time: start + HOUR });
    expect(firstHour.data[0]!.aggregated_value).toBe(12.5);

    const paged = await stripe.billing.meters.listEventSummaries('mtr_double_events', {
      customer: a.id,
      start_time: start,
      end_time: start + 3 * HOUR,
      value_grouping_window: 'hour',
      limit: 2,
    });
    expect(paged.has_more).toBe(true);
    const all: number[] = [];
    for await (const s of stripe.billing.meters.listEventSummaries('mtr_double_events', {
      customer: a.id,
      start_time: start,
      end_time: start + 3 * HOUR,
      value_grouping_window: 'hour',
      limit: 1,
    })) {
      all.push(s.aggregated_value);
    }
    expect(all).toEqual([1, 4, 12.5]);

    const day = start - (start % 86_400);
    const daily = await stripe.billing.meters.listEventSummaries('mtr_double_events', {
      customer: b.id,
      start_time: day,
      end_time: day + 2 * 86_400,
      value_grouping_window: 'day',
    });
    expect(daily.data.reduce((sum, s) => sum + s.aggregated_value, 0)).toBe(100);
  });

  it('needs customer, start_time and end_time, aligned to minutes (hours, days when grouped)', async () => {
    const customer = await stripe.customers.create({});
    const start = hourStart(1);
    const missing = await stripeError(
      stripe.billing.meters.listEventSummaries('mtr_double_events', { start_time: start, end_time: start + HOUR } as Stripe.Billing.MeterListEventSummariesParams),
    );
    expect(missing).toMatchObject({ code: 'parameter_missing', param: 'customer' });
    const unaligned = await stripeError(stripe.billing.meters.listEventSummaries('mtr_double_events', { customer: customer.id, start_time: start + 7, end_time: start + HOUR }));
    expect(unaligned).toMatchObject({ statusCode: 400, param: 'start_time' });
    const hourBad = await stripeError(
      stripe.billing.meters.listEventSummaries('mtr_double_events', { customer: customer.id, start_time: start + 60, end_time: start + HOUR, value_grouping_window: 'hour' }),
    );
    expect(hourBad.param).toBe('start_time');
    const unknownMeter = await stripeError(stripe.billing.meters.listEventSummaries('mtr_nope', { customer: customer.id, start_time: start, end_time: start + HOUR }));
    expect(unknownMeter).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });

  it('feeds the metered line of the renewal invoice', async () => {
    const { subscription, customer } = await subscribe(double, stripe, { metered: true });
    const item = subscription.items.data.find((i) => i.price.id === 'price_usage_metered')!;
    expect(item.quantity).toBeUndefined();
    await record(customer.id, 40, double.clock.now());
    await record(customer.id, 2, double.clock.now());
    const renewed = await double.actions.renewPeriod(subscription.id);
    const usageLine = renewed.invoice!.lines.data.find((l) => l.pricing?.price_details?.price === 'price_usage_metered')!;
    expect(usageLine).toMatchObject({ quantity: 42, amount: 42, period: { start: item.current_period_start, end: item.current_period_end } });
    expect(renewed.invoice!.amount_due).toBe(900 + 42);
  });
});
