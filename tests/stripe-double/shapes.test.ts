/**
 * Every object the double produces has the top-level keys of Stripe's published
 * example for its type (fixtures3.json) less those the pinned API version removed
 * (REMOVED_KEYS), plus the few keys it requires that the example predates (ADDED_KEYS),
 * minus those Stripe omits in some states (OPTIONAL_KEYS). Compared on the wire JSON, not on stripe-node's objects.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDED_KEYS, fixtureKeys, OPTIONAL_KEYS, type FixtureName } from '../../dev/stripe-double/fixtures.ts';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { setup, subscribe } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
beforeAll(async () => {
  ({ double, stripe } = await setup());
});
afterAll(() => double.close());

async function wire<T>(path: string, init: { method?: string; body?: string } = {}): Promise<T> {
  const res = await fetch(`${double.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { Authorization: `Bearer ${double.apiKey}`, 'Content-Type': 'application/x-www-form-urlencoded' },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const checked = new Set<FixtureName>();

function expectShape(name: FixtureName, value: unknown): void {
  expect(value, name).toBeTypeOf('object');
  const obj = value as Record<string, unknown>;
  const optional = new Set(OPTIONAL_KEYS[name] ?? []);
  const expected = [...new Set([...fixtureKeys(name), ...(ADDED_KEYS[name] ?? [])])].filter((k) => k in obj || !optional.has(k)).sort();
  expect(Object.keys(obj).sort(), `top-level keys of ${name}`).toEqual(expected);
  checked.add(name);
}

describe('object shapes match Stripe’s published examples', () => {
  it('customer, deleted customer', async () => {
    const c = await stripe.customers.create({ email: 'shape@example.com' });
    expectShape('customer', await wire(`/v1/customers/${c.id}`));
    await stripe.customers.del(c.id);
    expectShape('deleted_customer', await wire(`/v1/customers/${c.id}`));
  });

  it('product, price', async () => {
    expectShape('product', await wire('/v1/products/basic'));
    expectShape('price', await wire('/v1/prices/price_basic_monthly'));
    expectShape('price', await wire('/v1/prices/price_usage_metered'));
    const created = await wire<Stripe.Price>('/v1/prices', { method: 'POST', body: 'currency=usd&unit_amount=5&product_data[name]=Shape' });
    expectShape('price', created);
    expectShape('product', await wire(`/v1/products/${created.product as string}`));
  });

  it('checkout session and its line items, portal session', async () => {
    const customer = await stripe.customers.create({});
    const session = await wire<Stripe.Checkout.Session>('/v1/checkout/sessions', {
      method: 'POST',
      body: `mode=subscription&customer=${customer.id}&line_items[0][price]=price_basic_monthly&line_items[0][quantity]=1&line_items[1][price]=price_usage_metered&success_url=https://x.example/ok`,
    });
    expectShape('checkout.session', session);
    const items = await wire<Stripe.ApiList<Stripe.LineItem>>(`/v1/checkout/sessions/${session.id}/line_items`);
    for (const li of items.data) expectShape('item', li);
    await double.actions.completeCheckout(session.id);
    expectShape('checkout.session', await wire(`/v1/checkout/sessions/${session.id}`));
    const portal = await wire('/v1/billing_portal/sessions', { method: 'POST', body: `customer=${customer.id}&return_url=https://x.example` });
    expectShape('billing_portal.session', portal);
  });

  it('subscription, its items (with price and plan), invoices and their lines, events', async () => {
    const done = await subscribe(double, stripe, { metered: true, trialDays: 3 });
    await double.actions.renewPeriod(done.subscription.id, { paymentFails: true });
    const sub = await wire<Stripe.Subscription>(`/v1/subscriptions/${done.subscription.id}`);
    expectShape('subscription', sub);
    for (const item of sub.items.data) {
      expectShape('subscription_item', item);
      expectShape('price', item.price);
      expectShape('plan', item.plan);
    }
    const invoices = await wire<Stripe.ApiList<Stripe.Invoice>>(`/v1/invoices?subscription=${sub.id}`);
    expect(invoices.data.length).toBe(2);
    for (const inv of invoices.data) {
      expectShape('invoice', inv);
      for (const line of inv.lines.data) expectShape('line_item', line);
    }
    const events = await wire<Stripe.ApiList<Stripe.Event>>('/v1/events?limit=100');
    const kinds: Record<string, FixtureName> = {
      customer: 'customer',
      subscription: 'subscription',
      invoice: 'invoice',
      'checkout.session': 'checkout.session',
      'billing_portal.session': 'billing_portal.session',
    };
    for (const event of events.data) {
      expectShape('event', event);
      const object = event.data.object as { object: string };
      const kind = kinds[object.object];
      if (kind) expectShape(kind, object);
    }
  });

  it('subscription schedule, invoice previews and proration lines', async () => {
    const done = await subscribe(double, stripe);
    const id = done.subscription.id;
    const item = done.subscription.items.data[0]!.id;
    const sched = await wire<Stripe.SubscriptionSchedule>('/v1/subscription_schedules', { method: 'POST', body: `from_subscription=${id}` });
    expectShape('subscription_schedule', sched);
    expectShape('subscription_schedule', await wire(`/v1/subscription_schedules/${sched.id}/release`, { method: 'POST' }));
    const change = `subscription=${id}&subscription_details[items][0][id]=${item}&subscription_details[items][0][price]=price_pro_monthly`;
    for (const behavior of ['always_invoice', 'create_prorations']) {
      const preview = await wire<Stripe.Invoice>('/v1/invoices/create_preview', { method: 'POST', body: `${change}&subscription_details[proration_behavior]=${behavior}` });
      expectShape('invoice', preview);
      for (const line of preview.lines.data) expectShape('line_item', line);
    }
    const events = await wire<Stripe.ApiList<Stripe.Event>>('/v1/events?type=subscription_schedule.*');
    for (const event of events.data) expectShape('subscription_schedule', event.data.object);
  });

  it('meter, meter event, meter event summary', async () => {
    expectShape('billing.meter', await wire('/v1/billing/meters/mtr_double_events'));
    const customer = await stripe.customers.create({});
    const now = double.clock.now();
    expectShape(
      'billing.meter_event',
      await wire('/v1/billing/meter_events', { method: 'POST', body: `event_name=tracked_events&payload[stripe_customer_id]=${customer.id}&payload[value]=3` }),
    );
    const start = now - (now % 60);
    const summaries = await wire<Stripe.ApiList<Stripe.Billing.MeterEventSummary>>(
      `/v1/billing/meters/mtr_double_events/event_summaries?customer=${customer.id}&start_time=${start}&end_time=${start + 120}`,
    );
    expectShape('billing.meter_event_summary', summaries.data[0]);
  });

  it('covered every fixture type the double builds from', () => {
    expect([...checked].sort()).toEqual(
      ([
        'billing.meter',
        'billing.meter_event',
        'billing.meter_event_summary',
        'billing_portal.session',
        'checkout.session',
        'customer',
        'deleted_customer',
        'event',
        'invoice',
        'item',
        'line_item',
        'plan',
        'price',
        'product',
        'subscription',
        'subscription_item',
        'subscription_schedule',
      ] satisfies FixtureName[]).sort(),
    );
  });
});
