/** The stateful /v1 API through the real stripe-node SDK. */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { clockSpan, setup, stripeError, subscribe } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
beforeAll(async () => {
  ({ double, stripe } = await setup({ publicBaseUrl: 'http://localhost:9999/' }));
});
afterAll(() => double.close());

describe('customers', () => {
  it('creates, retrieves, updates and deletes, with metadata semantics', async () => {
    const created = await stripe.customers.create({ email: 'ada@example.com', name: 'Ada', metadata: { account_id: 'a1', tier: 'x' } });
    expect(created.id).toMatch(/^cus_[A-Za-z0-9]{14}$/);
    expect(created).toMatchObject({ object: 'customer', email: 'ada@example.com', name: 'Ada', livemode: false });
    expect(created.lastResponse.requestId).toMatch(/^req_/);

    const got = await stripe.customers.retrieve(created.id);
    expect(got).toEqual({ ...created });

    const updated = await stripe.customers.update(created.id, { name: 'Ada L.', metadata: { tier: '', plan: 'pro' } });
    expect(updated.name).toBe('Ada L.');
    expect(updated.metadata).toEqual({ account_id: 'a1', plan: 'pro' });

    const deleted = await stripe.customers.del(created.id);
    expect(deleted).toMatchObject({ id: created.id, object: 'customer', deleted: true });
    const after = await stripe.customers.retrieve(created.id);
    expect(after.deleted).toBe(true);
  });

  it('lists newest first, filters by email, and paginates with starting_after', async () => {
    const email = `list-${Date.now()}@example.com`;
    const a = await stripe.customers.create({ email });
    const b = await stripe.customers.create({ email });
    const c = await stripe.customers.create({ email });
    await stripe.customers.create({ email: 'other@example.com' });

    const all = await stripe.customers.list({ email });
    expect(all.object).toBe('list');
    expect(all.url).toBe('/v1/customers');
    expect(all.data.map((x) => x.id)).toEqual([c.id, b.id, a.id]);

    const page1 = await stripe.customers.list({ email, limit: 2 });
    expect(page1.has_more).toBe(true);
    const page2 = await stripe.customers.list({ email, limit: 2, starting_after: page1.data[1]!.id });
    expect(page2.data.map((x) => x.id)).toEqual([a.id]);
    expect(page2.has_more).toBe(false);

    const back = await stripe.customers.list({ email, limit: 1, ending_before: a.id });
    expect(back.data.map((x) => x.id)).toEqual([b.id]);

    const seen: string[] = [];
    for await (const cust of stripe.customers.list({ email, limit: 1 })) seen.push(cust.id);
    expect(seen).toEqual([c.id, b.id, a.id]);
  });
});

describe('catalog', () => {
  it('serves the seeded prices and meter', async () => {
    const basic = await stripe.prices.retrieve('price_basic_monthly', { expand: ['product'] });
    expect(basic).toMatchObject({ type: 'recurring', currency: 'usd', recurring: { interval: 'month', usage_type: 'licensed' } });
    expect((basic.product as Stripe.Product).name).toBe('Basic');
    // stripe-node parses decimal strings into its Decimal type.
    expect(basic.unit_amount_decimal?.toString()).toBe('900');
    const pro = await stripe.prices.retrieve('price_pro_monthly');
    expect(pro.unit_amount).toBe(2900);
    const metered = await stripe.prices.retrieve('price_usage_metered');
    expect(metered.recurring).toMatchObject({ usage_type: 'metered', meter: 'mtr_double_events' });
    const byKey = await stripe.prices.list({ lookup_keys: ['pro_monthly'] });
    expect(byKey.data.map((p) => p.id)).toEqual(['price_pro_monthly']);
  });

  it('creates products and prices (with product_data) and lists them', async () => {
    const product = await stripe.products.create({ name: 'Team', metadata: { k: 'v' } });
    expect(product.id).toMatch(/^prod_/);
    const price = await stripe.prices.create({ currency: 'usd', unit_amount: 4900, product: product.id, recurring: { interval: 'month' } });
    expect(price).toMatchObject({ product: product.id, unit_amount: 4900, type: 'recurring' });
    const inline = await stripe.prices.create({ currency: 'usd', unit_amount: 100, product_data: { name: 'Inline' } });
    expect(inline.type).toBe('one_time');
    expect((await stripe.products.retrieve(inline.product as string)).name).toBe('Inline');
    const forProduct = await stripe.prices.list({ product: product.id });
    expect(forProduct.data.map((p) => p.id)).toEqual([price.id]);
  });
});

describe('checkout sessions', () => {
  it('takes every subscription-mode parameter, nested, and returns the hosted URL', async () => {
    const customer = await stripe.customers.create({ email: 'co@example.com' });
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      client_reference_id: 'user:42',
      line_items: [{ price: 'price_pro_monthly', quantity: 2 }, { price: 'price_usage_metered' }],
      metadata: { account_id: 'user:42' },
      subscription_data: { metadata: { account_id: 'user:42', plan: 'pro' }, trial_period_days: 7 },
      allowed_payment_method_types: ['card', 'link'],
      allow_promotion_codes: true,
      automatic_tax: { enabled: true },
      customer_update: { address: 'auto' },
      success_url: 'https://app.example.com/ok?s={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://app.example.com/cancel',
    });
    expect(session.id).toMatch(/^cs_test_a1/);
    expect(session.url).toBe(`http://localhost:9999/c/pay/${session.id}`);
    expect(session).toMatchObject({
      object: 'checkout.session',
      mode: 'subscription',
      status: 'open',
      customer: customer.id,
      client_reference_id: 'user:42',
      metadata: { account_id: 'user:42' },
      allowed_payment_method_types: ['card', 'link'],
      allow_promotion_codes: true,
      automatic_tax: { enabled: true },
      success_url: 'https://app.example.com/ok?s={CHECKOUT_SESSION_ID}',
      cancel_url: 'https://app.example.com/cancel',
    });
    expect(session.line_items).toBeUndefined();

    const expanded = await stripe.checkout.sessions.retrieve(session.id, { expand: ['line_items', 'customer'] });
    expect(expanded.line_items?.data.map((li) => [li.price?.id, li.quantity])).toEqual([
      ['price_pro_monthly', 2],
      ['price_usage_metered', null],
    ]);
    expect((expanded.customer as Stripe.Customer).email).toBe('co@example.com');
    const lines = await stripe.checkout.sessions.listLineItems(session.id);
    expect(lines.data).toHaveLength(2);

    const done = await double.actions.completeCheckout(session.id);
    expect(done.subscription.metadata).toEqual({ account_id: 'user:42', plan: 'pro' });
    expect(done.subscription.status).toBe('trialing');
    expect(done.subscription.items.data.map((i) => i.price.id)).toEqual(['price_pro_monthly', 'price_usage_metered']);
    expect(done.subscription.items.data[0]!.quantity).toBe(2);

    const list = await stripe.checkout.sessions.list({ customer: customer.id, expand: ['data.subscription'] });
    expect(list.data).toHaveLength(1);
    expect((list.data[0]!.subscription as Stripe.Subscription).id).toBe(done.subscription.id);
  });

  it('expires an open session through the API', async () => {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      line_items: [{ price: 'price_basic_monthly', quantity: 1 }],
      success_url: 'https://x.example/ok',
    });
    const expired = await stripe.checkout.sessions.expire(session.id);
    expect(expired).toMatchObject({ status: 'expired', url: null });
    const again = await stripeError(stripe.checkout.sessions.expire(session.id));
    expect(again.statusCode).toBe(400);
    await double.idle();
    const events = await stripe.events.list({ type: 'checkout.session.expired' });
    expect(events.data.some((e) => (e.data.object as Stripe.Checkout.Session).id === session.id)).toBe(true);
  });

  it('validates line items the way Stripe does', async () => {
    const base = { mode: 'subscription' as const, success_url: 'https://x.example/ok' };
    const noQty = await stripeError(stripe.checkout.sessions.create({ ...base, line_items: [{ price: 'price_basic_monthly' }] }));
    expect(noQty).toMatchObject({ code: 'parameter_missing', param: 'line_items[0][quantity]' });
    const meteredQty = await stripeError(stripe.checkout.sessions.create({ ...base, line_items: [{ price: 'price_usage_metered', quantity: 1 }] }));
    expect(meteredQty.param).toBe('line_items[0][quantity]');
    const unknown = await stripeError(stripe.checkout.sessions.create({ ...base, line_items: [{ price: 'price_nope', quantity: 1 }] }));
    expect(unknown).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'line_items[0][price]' });
    const noMode = await stripeError(stripe.checkout.sessions.create({ line_items: [{ price: 'price_basic_monthly', quantity: 1 }] }));
    expect(noMode).toMatchObject({ code: 'parameter_missing', param: 'mode' });
  });
});

describe('billing portal sessions', () => {
  it('creates a session for a customer with a return URL', async () => {
    const customer = await stripe.customers.create({});
    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://app.example.com/billing' });
    expect(portal.id).toMatch(/^bps_/);
    expect(portal).toMatchObject({ object: 'billing_portal.session', customer: customer.id, return_url: 'https://app.example.com/billing' });
    expect(portal.url).toBe(`http://localhost:9999/p/session/${portal.id}`);
    expect(double.state.portalSessions.get(portal.id)?.return_url).toBe('https://app.example.com/billing');
    const missing = await stripeError(stripe.billingPortal.sessions.create({ customer: 'cus_missing' }));
    expect(missing).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'customer' });
  });
});

describe('subscriptions', () => {
  it('creates through the API, retrieves with expand, lists by customer', async () => {
    const customer = await stripe.customers.create({ email: 'sub@example.com' });
    const sub = await stripe.subscriptions.create({
      customer: customer.id,
      items: [{ price: 'price_basic_monthly', quantity: 3 }],
      metadata: { account_id: 'acct_9' },
      expand: ['latest_invoice'],
    });
    expect(sub.id).toMatch(/^sub_/);
    expect(sub.status).toBe('active');
    const item = sub.items.data[0]!;
    expect(item.id).toMatch(/^si_/);
    expect(item.current_period_end).toBeGreaterThan(item.current_period_start);
    expect(sub).not.toHaveProperty('current_period_end');
    const invoice = sub.latest_invoice as Stripe.Invoice;
    expect(invoice).toMatchObject({ status: 'paid', amount_due: 2700, amount_paid: 2700, billing_reason: 'subscription_create' });
    expect(invoice.parent?.subscription_details?.subscription).toBe(sub.id);

    const got = await stripe.subscriptions.retrieve(sub.id, { expand: ['customer', 'items.data.price.product'] });
    expect((got.customer as Stripe.Customer).email).toBe('sub@example.com');
    expect((got.items.data[0]!.price.product as Stripe.Product).name).toBe('Basic');

    const listed = await stripe.subscriptions.list({ customer: customer.id });
    expect(listed.data.map((s) => s.id)).toEqual([sub.id]);
    const byPrice = await stripe.subscriptions.list({ price: 'price_basic_monthly', customer: customer.id });
    expect(byPrice.data).toHaveLength(1);
  });

  it('updates cancel_at_period_end and metadata, and cancels via DELETE', async () => {
    const { subscription } = await subscribe(double, stripe);
    const scheduled = await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: true, metadata: { reason: 'test' } });
    expect(scheduled.cancel_at_period_end).toBe(true);
    expect(scheduled.cancel_at).toBe(scheduled.items.data[0]!.current_period_end);
    expect(scheduled.metadata).toMatchObject({ account_id: 'acct_1', reason: 'test' });
    const resumed = await stripe.subscriptions.update(subscription.id, { cancel_at_period_end: false });
    expect(resumed).toMatchObject({ cancel_at_period_end: false, cancel_at: null });

    const span = clockSpan(double);
    const canceled = await stripe.subscriptions.cancel(subscription.id, { cancellation_details: { comment: 'bye', feedback: 'too_expensive' } });
    expect(canceled.status).toBe('canceled');
    expect(span.contains(canceled.ended_at)).toBe(true);
    expect(canceled.cancellation_details).toMatchObject({ comment: 'bye', feedback: 'too_expensive', reason: 'cancellation_requested' });
  });

  it('lists without canceled subscriptions by default, with them for status=all', async () => {
    const customer = await stripe.customers.create({});
    const live = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_basic_monthly' }] });
    const gone = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_pro_monthly' }] });
    await stripe.subscriptions.cancel(gone.id);
    expect((await stripe.subscriptions.list({ customer: customer.id })).data.map((s) => s.id)).toEqual([live.id]);
    expect((await stripe.subscriptions.list({ customer: customer.id, status: 'all' })).data.map((s) => s.id)).toEqual([gone.id, live.id]);
    expect((await stripe.subscriptions.list({ customer: customer.id, status: 'canceled' })).data.map((s) => s.id)).toEqual([gone.id]);
    const expanded = await stripe.subscriptions.list({ customer: customer.id, status: 'all', expand: ['data.latest_invoice'] });
    expect(expanded.data.every((s) => typeof s.latest_invoice === 'object')).toBe(true);
  });

  it('changes the price of an item, keeping its id', async () => {
    const { subscription } = await subscribe(double, stripe);
    const itemId = subscription.items.data[0]!.id;
    const upgraded = await stripe.subscriptions.update(subscription.id, {
      items: [{ id: itemId, price: 'price_pro_monthly' }],
      proration_behavior: 'none',
    });
    expect(upgraded.items.data.map((i) => [i.id, i.price.id])).toEqual([[itemId, 'price_pro_monthly']]);
  });

  it('starts incomplete with payment_behavior=default_incomplete, and a payment makes it active', async () => {
    const customer = await stripe.customers.create({});
    const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_basic_monthly' }], payment_behavior: 'default_incomplete' });
    expect(sub.status).toBe('incomplete');
    const paid = await stripe.invoices.pay(sub.latest_invoice as string);
    expect(paid.status).toBe('paid');
    expect((await stripe.subscriptions.retrieve(sub.id)).status).toBe('active');
  });
});

describe('invoices', () => {
  it('retrieves and lists by subscription and customer, with lines', async () => {
    const { subscription, customer } = await subscribe(double, stripe);
    await double.actions.renewPeriod(subscription.id);
    const bySub = await stripe.invoices.list({ subscription: subscription.id });
    expect(bySub.data.map((i) => i.billing_reason)).toEqual(['subscription_cycle', 'subscription_create']);
    const byCustomer = await stripe.invoices.list({ customer: customer.id, status: 'paid' });
    expect(byCustomer.data).toHaveLength(2);
    const invoice = await stripe.invoices.retrieve(bySub.data[0]!.id, { expand: ['parent.subscription_details.subscription'] });
    expect((invoice.parent?.subscription_details?.subscription as Stripe.Subscription).id).toBe(subscription.id);
    expect(invoice.id).toMatch(/^in_/);
    expect(invoice.number).toMatch(/^[0-9A-F]{8}-0002$/);
    const lines = await stripe.invoices.listLineItems(invoice.id);
    expect(lines.data[0]).toMatchObject({ object: 'line_item', amount: 900, parent: { type: 'subscription_item_details' } });
  });
});

describe('events', () => {
  it('retrieves and lists events, filtering by type', async () => {
    const { events } = await subscribe(double, stripe);
    const first = events[0]!;
    const got = await stripe.events.retrieve(first.id);
    expect(got).toMatchObject({ id: first.id, type: first.type, api_version: '2026-10-28.endive', object: 'event' });
    const subs = await stripe.events.list({ type: 'customer.subscription.*', limit: 100 });
    expect(subs.data.every((e) => e.type.startsWith('customer.subscription.'))).toBe(true);
    const some = await stripe.events.list({ types: ['invoice.paid', 'checkout.session.completed'], limit: 100 });
    expect(new Set(some.data.map((e) => e.type))).toEqual(new Set(['invoice.paid', 'checkout.session.completed']));
  });
});

describe('http surface', () => {
  it('answers every call with a Request-Id, logs it, and serves placeholder pages', async () => {
    const before = double.requestLog.length;
    const res = await fetch(`${double.url}/v1/customers?limit=1`, { headers: { Authorization: `Bearer ${double.apiKey}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    expect(double.requestLog.slice(before)).toEqual([expect.objectContaining({ method: 'GET', path: '/v1/customers', status: 200 })]);
    const page = await fetch(`${double.url}/c/pay/cs_test_a1abc`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('cs_test_a1abc');
  });

  it('parses nested and array form parameters in both styles (a[0][x] and a[])', async () => {
    const customer = await stripe.customers.create({});
    const body = new URLSearchParams();
    body.append('customer', customer.id);
    body.append('items[][price]', 'price_basic_monthly');
    body.append('items[][price]', 'price_pro_monthly');
    body.append('metadata[account_id]', 'acct_x');
    body.append('expand[]', 'customer');
    const res = await fetch(`${double.url}/v1/subscriptions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${double.apiKey}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body,
    });
    const sub = (await res.json()) as Stripe.Subscription;
    expect(res.status).toBe(200);
    expect(sub.items.data.map((i) => i.price.id)).toEqual(['price_basic_monthly', 'price_pro_monthly']);
    expect(sub.metadata).toEqual({ account_id: 'acct_x' });
    expect((sub.customer as Stripe.Customer).id).toBe(customer.id);
  });
});
