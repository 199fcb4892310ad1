/**
 * Plan changes the way Stripe makes them: prorated by the second (credit for the unused time on
 * the old price, charge for the remaining time on the new one, each line rounded to the cent),
 * with proration_behavior create_prorations / always_invoice / none, proration_date, and
 * invoices.createPreview answering the invoice Stripe then creates, to the cent.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { SECRET, setup, startReceiver, stripeError, subscribe, type Receiver } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
let receiver: Receiver;
let seatPrice: string;
let yearlyPro: string;
beforeAll(async () => {
  receiver = await startReceiver();
  ({ double, stripe } = await setup({ webhook: { url: receiver.url, secret: SECRET } }));
  seatPrice = (await stripe.prices.create({ product: 'pro', currency: 'usd', unit_amount: 1250, recurring: { interval: 'month' } })).id;
  yearlyPro = (await stripe.prices.create({ product: 'pro', currency: 'usd', unit_amount: 29000, recurring: { interval: 'year' } })).id;
});
afterAll(async () => {
  await double.close();
  await receiver.close();
});
beforeEach(async () => {
  await double.idle();
  receiver.received.length = 0;
});

/** A paid subscription on `price` (× quantity), and its current period. */
async function subscribed(price = 'price_basic_monthly', quantity = 1) {
  if (quantity === 1 && price === 'price_basic_monthly') {
    const done = await subscribe(double, stripe);
    const item = done.subscription.items.data[0]!;
    return { sub: done.subscription, customer: done.customer.id, item, period: { start: item.current_period_start, end: item.current_period_end } };
  }
  const customer = await stripe.customers.create({ email: 'seats@example.com' });
  const sub = await stripe.subscriptions.create({ customer: customer.id, items: [{ price, quantity }] });
  const item = sub.items.data[0]!;
  return { sub, customer: customer.id, item, period: { start: item.current_period_start, end: item.current_period_end } };
}

/** What a test compares between a preview and an invoice: everything a customer sees. */
const billed = (inv: Stripe.Invoice) => ({
  amount_due: inv.amount_due,
  total: inv.total,
  lines: inv.lines.data.map((l) => ({
    amount: l.amount,
    description: l.description,
    period: l.period,
    quantity: l.quantity,
    proration: l.parent?.subscription_item_details?.proration,
    price: l.pricing?.price_details?.price,
  })),
});

/** Stripe's arithmetic, done independently: `amount` for the share of the period left after `at`, rounded to the cent. */
const share = (amount: number, at: number, period: { start: number; end: number }) => Math.round((amount * (period.end - at)) / (period.end - period.start));

const POINTS: Array<[string, (p: { start: number; end: number }) => number]> = [
  ['first minute', (p) => p.start + 30],
  ['middle', (p) => p.start + Math.floor((p.end - p.start) / 2)],
  ['last minute', (p) => p.end - 30],
];

describe('always_invoice: the preview is the invoice, to the cent', () => {
  for (const [when, at] of POINTS) {
    it(`upgrade Basic -> Pro in the ${when}`, async () => {
      const { sub, item, period } = await subscribed();
      const prorationDate = at(period);
      const details = { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_behavior: 'always_invoice' as const, proration_date: prorationDate };
      const preview = await stripe.invoices.createPreview({ customer: sub.customer as string, subscription: sub.id, subscription_details: details });
      const credit = 0 - share(900, prorationDate, period);
      const charge = share(2900, prorationDate, period);
      expect(billed(preview).lines).toEqual([
        { amount: credit, description: expect.stringMatching(/^Unused time on Basic after \d\d \w{3} \d{4}$/), period: { start: prorationDate, end: period.end }, quantity: 1, proration: true, price: 'price_basic_monthly' },
        { amount: charge, description: expect.stringMatching(/^Remaining time on Pro after /), period: { start: prorationDate, end: period.end }, quantity: 1, proration: true, price: 'price_pro_monthly' },
      ]);
      expect(preview.amount_due).toBe(credit + charge);

      const updated = await stripe.subscriptions.update(sub.id, { ...details, payment_behavior: 'pending_if_incomplete', expand: ['latest_invoice'] });
      const invoice = updated.latest_invoice as Stripe.Invoice;
      expect(billed(invoice)).toEqual(billed(preview));
      expect(invoice).toMatchObject({ status: 'paid', billing_reason: 'subscription_update', amount_paid: credit + charge });
      expect(updated.items.data[0]).toMatchObject({ id: item.id, price: { id: 'price_pro_monthly' }, current_period_end: period.end });
      expect(updated.pending_update).toBeNull();
    });
  }

  it('half way through, $9 -> $29 costs $10 (Stripe’s own example: half of each price)', async () => {
    const { sub, item, period } = await subscribed();
    const half = period.start + (period.end - period.start) / 2;
    const preview = await stripe.invoices.createPreview({
      subscription: sub.id,
      subscription_details: { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_behavior: 'always_invoice', proration_date: half },
    });
    expect(preview.lines.data.map((l) => l.amount)).toEqual([-450, 1450]);
    expect(preview.amount_due).toBe(1000);
  });

  it('a downgrade now is a credit: nothing due, the credit pays the next renewal', async () => {
    const { sub, item, period } = await subscribed('price_pro_monthly', 1);
    const prorationDate = POINTS[1]![1](period);
    const details = { items: [{ id: item.id, price: 'price_basic_monthly' }], proration_behavior: 'always_invoice' as const, proration_date: prorationDate };
    const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: details });
    const credit = -share(2900, prorationDate, period) + share(900, prorationDate, period);
    expect(preview.total).toBe(credit);
    expect(preview.amount_due).toBe(0);
    const invoice = (await stripe.subscriptions.update(sub.id, { ...details, expand: ['latest_invoice'] })).latest_invoice as Stripe.Invoice;
    expect(billed(invoice)).toEqual(billed(preview));
    expect(invoice).toMatchObject({ status: 'paid', ending_balance: credit });
    expect((await stripe.customers.retrieve(sub.customer as string)) as Stripe.Customer).toMatchObject({ balance: credit });

    const next = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(next).toMatchObject({ starting_balance: credit, amount_due: Math.max(0, 900 + credit) });
    const renewed = await double.actions.renewPeriod(sub.id);
    expect(renewed.invoice).toMatchObject({ starting_balance: credit, amount_due: next.amount_due, total: 900 });
  });

  for (const [when, at] of POINTS) {
    it(`seats 5 -> 7 and 7 -> 3 in the ${when}`, async () => {
      const { sub, item, period } = await subscribed(seatPrice, 5);
      const prorationDate = at(period);
      for (const [from, to] of [[5, 7], [7, 3]] as const) {
        const details = { items: [{ id: item.id, quantity: to }], proration_behavior: 'always_invoice' as const, proration_date: prorationDate };
        const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: details });
        expect(billed(preview).lines.map((l) => [l.amount, l.quantity, l.description?.replace(/ after .*/, '')])).toEqual([
          [0 - share(from * 1250, prorationDate, period), from, `Unused time on ${from} × Pro`],
          [share(to * 1250, prorationDate, period), to, `Remaining time on ${to} × Pro`],
        ]);
        const invoice = (await stripe.subscriptions.update(sub.id, { ...details, expand: ['latest_invoice'] })).latest_invoice as Stripe.Invoice;
        expect(billed(invoice)).toEqual(billed(preview));
      }
    });
  }
});

describe('create_prorations and none', () => {
  it('create_prorations: no invoice now; the prorations wait for the renewal, which equals its preview', async () => {
    const { sub, item, period } = await subscribed();
    const prorationDate = POINTS[1]![1](period);
    const invoicesBefore = (await stripe.invoices.list({ subscription: sub.id })).data.length;
    const details = { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_date: prorationDate };
    const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: details });
    const updated = await stripe.subscriptions.update(sub.id, details);
    expect(updated.items.data[0]!.price.id).toBe('price_pro_monthly');
    expect((await stripe.invoices.list({ subscription: sub.id })).data).toHaveLength(invoicesBefore);

    // The upcoming invoice: both prorations, then the next period on Pro.
    expect(preview).toMatchObject({ billing_reason: 'upcoming', period_start: period.start, period_end: period.end, next_payment_attempt: period.end });
    expect(billed(preview).lines.map((l) => [l.amount, l.proration])).toEqual([
      [-share(900, prorationDate, period), true],
      [share(2900, prorationDate, period), true],
      [2900, false],
    ]);
    const upcoming = await stripe.invoices.createPreview({ subscription: sub.id });
    expect(billed(upcoming)).toEqual(billed(preview));
    const renewed = await double.actions.renewPeriod(sub.id);
    expect(billed(renewed.invoice!)).toEqual(billed(preview));
    expect(renewed.invoice!.lines.data[0]!.parent?.subscription_item_details?.invoice_item).toMatch(/^ii_/);
    // Billed once: the next renewal has only the period.
    expect(billed(await stripe.invoices.createPreview({ subscription: sub.id })).lines.map((l) => l.amount)).toEqual([2900]);
  });

  it('none: no prorations; the preview is the renewal at the new price', async () => {
    const { sub, item } = await subscribed();
    const details = { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_behavior: 'none' as const };
    const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: details });
    expect(billed(preview)).toMatchObject({ amount_due: 2900, lines: [{ amount: 2900, proration: false }] });
    const updated = await stripe.subscriptions.update(sub.id, { ...details, expand: ['latest_invoice'] });
    expect((updated.latest_invoice as Stripe.Invoice).billing_reason).toBe('subscription_create');
    expect((await double.actions.renewPeriod(sub.id)).invoice!.amount_due).toBe(preview.amount_due);
  });

  it('month -> year restarts the period now (billing_cycle_anchor) and invoices at once, whatever proration_behavior', async () => {
    const { sub, item, period } = await subscribed();
    double.clock.advance(10 * 86_400);
    const now = double.clock.now();
    const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: { items: [{ id: item.id, price: yearlyPro }], proration_date: now } });
    const updated = await stripe.subscriptions.update(sub.id, { items: [{ id: item.id, price: yearlyPro }], proration_date: now, expand: ['latest_invoice'] });
    const invoice = updated.latest_invoice as Stripe.Invoice;
    expect(billed(invoice)).toEqual(billed(preview));
    expect(billed(invoice).lines.map((l) => [l.amount, l.proration])).toEqual([
      [-share(900, now, period), true],
      [29000, false],
    ]);
    expect(updated.billing_cycle_anchor).toBe(now);
    expect(updated.items.data[0]!.current_period_start).toBe(now);
    expect(updated.items.data[0]!.current_period_end - now).toBeGreaterThanOrEqual(365 * 86_400);
  });

  it('events: the invoice’s, then one customer.subscription.updated whose previous_attributes hold the old items', async () => {
    const { sub, item } = await subscribed();
    await double.idle();
    receiver.received.length = 0;
    await stripe.subscriptions.update(sub.id, { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_behavior: 'always_invoice' });
    await double.idle();
    expect(receiver.types()).toEqual(['invoice.created', 'invoice.finalized', 'invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.updated']);
    const updated = receiver.received[4]!.event as Stripe.CustomerSubscriptionUpdatedEvent;
    expect(updated.data.object.items.data[0]!.price.id).toBe('price_pro_monthly');
    const previous = updated.data.previous_attributes as Partial<Stripe.Subscription>;
    expect(previous.items?.data[0]?.price.id).toBe('price_basic_monthly');
    expect(previous.latest_invoice).toBe(sub.latest_invoice);
  });

  it('no upcoming invoice for a subscription that ends with its period: 404 invoice_upcoming_none', async () => {
    const { sub } = await subscribed();
    await stripe.subscriptions.update(sub.id, { cancel_at_period_end: true });
    expect(await stripeError(stripe.invoices.createPreview({ subscription: sub.id }))).toMatchObject({ statusCode: 404, code: 'invoice_upcoming_none' });
  });

  it('billing_cycle_anchor=now restarts the period on the same price: the unused time credited, a full period billed, as previewed', async () => {
    const { sub, period } = await subscribed(seatPrice, 2);
    double.clock.advance(5 * 86_400);
    const now = double.clock.now();
    const preview = await stripe.invoices.createPreview({ subscription: sub.id, subscription_details: { billing_cycle_anchor: { type: 'now' }, proration_date: now } });
    const updated = await stripe.subscriptions.update(sub.id, { billing_cycle_anchor: { type: 'now' }, proration_date: now, expand: ['latest_invoice'] });
    expect(billed(updated.latest_invoice as Stripe.Invoice)).toEqual(billed(preview));
    expect(billed(preview).lines.map((l) => [l.amount, l.proration])).toEqual([
      [0 - share(2 * 1250, now, period), true],
      [2 * 1250, false],
    ]);
    expect(updated).toMatchObject({ billing_cycle_anchor: now, items: { data: [{ current_period_start: now, quantity: 2 }] } });
  });

  it('proration_date outside the current period: 400 naming it, nothing changed', async () => {
    const { sub, item, period } = await subscribed();
    const err = await stripeError(
      stripe.invoices.createPreview({ subscription: sub.id, subscription_details: { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_date: period.start - 1 } }),
    );
    expect(err).toMatchObject({ statusCode: 400, param: 'subscription_details[proration_date]' });
    const err2 = await stripeError(stripe.subscriptions.update(sub.id, { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_date: period.end + 1 }));
    expect(err2).toMatchObject({ statusCode: 400, param: 'proration_date' });
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0]!.price.id).toBe('price_basic_monthly');
  });
});

describe('payment_behavior when the charge is declined', () => {
  it('pending_if_incomplete: old items kept, pending_update set, the invoice open to pay; paying it applies the change', async () => {
    const { sub, customer, item } = await subscribed();
    await double.idle();
    receiver.received.length = 0;
    await double.actions.nextPaymentFails(customer);
    const updated = await stripe.subscriptions.update(sub.id, {
      items: [{ id: item.id, price: 'price_pro_monthly' }],
      proration_behavior: 'always_invoice',
      payment_behavior: 'pending_if_incomplete',
      expand: ['latest_invoice'],
    });
    const invoice = updated.latest_invoice as Stripe.Invoice;
    expect(updated).toMatchObject({ status: 'active', items: { data: [{ id: item.id, price: { id: 'price_basic_monthly' } }] } });
    expect(updated.pending_update).toMatchObject({ expires_at: expect.any(Number), subscription_items: [{ id: item.id, price: { id: 'price_pro_monthly' } }] });
    expect(invoice).toMatchObject({ status: 'open', attempted: true, hosted_invoice_url: expect.any(String) });
    await double.idle();
    expect(receiver.types()).toEqual(['invoice.created', 'invoice.finalized', 'invoice.payment_failed', 'customer.subscription.updated']);
    const event = receiver.received[3]!.event as Stripe.CustomerSubscriptionUpdatedEvent;
    expect(event.data.previous_attributes).toMatchObject({ pending_update: null });

    receiver.received.length = 0;
    const paid = await stripe.invoices.pay(invoice.id);
    expect(paid.status).toBe('paid');
    const after = await stripe.subscriptions.retrieve(sub.id);
    expect(after).toMatchObject({ pending_update: null, status: 'active', items: { data: [{ id: item.id, price: { id: 'price_pro_monthly' } }] } });
    await double.idle();
    expect(receiver.types()).toEqual(['invoice.paid', 'invoice.payment_succeeded', 'customer.subscription.updated']);
  });

  it('pending_if_incomplete: voiding the invoice drops the pending update', async () => {
    const { sub, customer, item } = await subscribed();
    await double.actions.nextPaymentFails(customer);
    const updated = await stripe.subscriptions.update(sub.id, { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_behavior: 'always_invoice', payment_behavior: 'pending_if_incomplete' });
    const voided = await double.actions.voidInvoice(updated.latest_invoice as string);
    expect(voided.invoice.status).toBe('void');
    expect(voided.subscription).toMatchObject({ pending_update: null, items: { data: [{ price: { id: 'price_basic_monthly' } }] } });
    expect(voided.events.map((e) => e.type)).toEqual(['invoice.voided', 'customer.subscription.updated']);
  });

  it('pending_if_incomplete: unpaid past expires_at (the period end comes first here), the invoice is voided and the update dropped', async () => {
    const { sub, customer, item, period } = await subscribed();
    double.clock.advance(period.end - double.clock.now() - 3600);
    await double.actions.nextPaymentFails(customer);
    const updated = await stripe.subscriptions.update(sub.id, { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_behavior: 'always_invoice', payment_behavior: 'pending_if_incomplete' });
    expect(updated.pending_update?.expires_at).toBe(period.end);
    const renewed = await double.actions.renewPeriod(sub.id);
    expect(renewed.events.map((e) => e.type).slice(0, 2)).toEqual(['invoice.voided', 'customer.subscription.updated']);
    expect(renewed.subscription).toMatchObject({ pending_update: null, status: 'active', items: { data: [{ price: { id: 'price_basic_monthly' } }] } });
    expect((await stripe.invoices.retrieve(updated.latest_invoice as string)).status).toBe('void');
    expect(renewed.invoice!.amount_due).toBe(900);
  });

  it('error_if_incomplete: a 402 card error and nothing changes; the switch is used once', async () => {
    const { sub, customer, item } = await subscribed();
    await double.actions.nextPaymentFails(customer);
    const change = { items: [{ id: item.id, price: 'price_pro_monthly' }], proration_behavior: 'always_invoice' as const, payment_behavior: 'error_if_incomplete' as const };
    const err = await stripeError(stripe.subscriptions.update(sub.id, change));
    expect(err).toMatchObject({ type: 'StripeCardError', statusCode: 402, code: 'card_declined' });
    expect((await stripe.subscriptions.retrieve(sub.id)).items.data[0]!.price.id).toBe('price_basic_monthly');
    expect((await stripe.subscriptions.update(sub.id, change)).items.data[0]!.price.id).toBe('price_pro_monthly');
  });

  it('the switch declines a renewal too (POST /_double/customers/:id/next-payment-fails)', async () => {
    const { sub, customer } = await subscribed();
    const res = await fetch(`${double.url}/_double/customers/${customer}/next-payment-fails`, { method: 'POST' });
    expect(res.status).toBe(200);
    const renewed = await double.actions.renewPeriod(sub.id);
    expect(renewed.subscription.status).toBe('past_due');
    expect(renewed.events.map((e) => e.type)).toContain('invoice.payment_failed');
  });
});
