import { checkoutSessionIdOf as sessionIdOf } from '../dev/stripe-double/index.ts';
import type Stripe from 'stripe';
import { shuffle } from '../dev/shuffle.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import checkout from '../functions/checkout.ts';
import subscription from '../functions/subscription.ts';
import webhook from '../functions/webhook.ts';
import { config } from '../shared/config.ts';
import { createLogger } from '../shared/log.ts';
import { reconcile } from '../shared/reconcile.ts';
import { getStore } from '../shared/store/index.ts';
import { call, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { checkedOut, expectSubscriptionsMatchStripe, signedWebhook, startStripeStack, WEBHOOK_SECRET, type StripeSide } from './helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
});
afterAll(() => stop());
beforeEach(() => {
  s.double.faults.clear();
  s.double.setWebhook({ url: `${s.appUrl}/api/stripe/webhook`, secret: WEBHOOK_SECRET });
});

/** Posts a payload to the webhook handler directly, signed as Stripe signs. */
async function post(payload: string, signature: string | null, path = '/api/stripe/webhook') {
  return call(webhook, 'POST', path, { body: payload, headers: signature === null ? {} : { 'stripe-signature': signature } });
}

const serialize = (e: Stripe.Event) => JSON.stringify(e, null, 2);
const signed = (e: Stripe.Event) => signedWebhook(s, e);

async function stateOf(token: string) {
  return (await call(subscription, 'GET', '/api/stripe/subscription', { token })).body;
}

describe('receiving', () => {
  it('refuses every signature failure with 400 and changes nothing', async () => {
    const { done } = await checkedOut(s, { deliver: false });
    const event = done.events.find((e) => e.type === 'customer.subscription.created')!;
    const payload = serialize(event);
    const now = Math.floor(Date.now() / 1000);
    const v1 = s.double.sign(payload, WEBHOOK_SECRET, now);
    const cases: Array<[string, string, string | null]> = [
      ['missing header', payload, null],
      ['no v1 signature', payload, `t=${now}`],
      ['garbage header', payload, 'nonsense'],
      ['wrong secret', payload, s.double.sign(payload, 'whsec_wrong', now)],
      ['stale timestamp', payload, s.double.sign(payload, WEBHOOK_SECRET, now - 301)],
      ['tampered body', payload.replace('"active"', '"canceled"').replace('"incomplete"', '"active"'), v1],
      ['v0 scheme only', payload, v1.replace('v1=', 'v0=')],
    ];
    for (const [name, body, header] of cases) {
      for (const path of ['/api/stripe/webhook', '/api/billing/webhook']) {
        const res = await post(body, header, path);
        expect(res.status, name).toBe(400);
        if (path.startsWith('/api/billing')) expect(res.body.error.code).toBe('BAD_REQUEST');
        else expect(res.body.code).toBe('BAD_REQUEST');
      }
    }
    expect(await stack.sql`select 1 from billing_stripe_events where id = ${event.id}`).toHaveLength(0);
    expect(await stack.sql`select 1 from billing_subscriptions where id = ${event.data.object.id}`).toHaveLength(0);
  });

  it('accepts a signature made with a rolled (old) secret while both are configured', async () => {
    const { done } = await checkedOut(s, { deliver: false });
    stack.setEnv({ STRIPE_WEBHOOK_SECRET: `whsec_new_secret_after_roll,${WEBHOOK_SECRET}` });
    try {
      const event = done.events.find((e) => e.type === 'customer.subscription.created')!;
      expect((await signedWebhook(s, event, '/api/stripe/webhook', WEBHOOK_SECRET)).status).toBe(200);
      expect((await signedWebhook(s, done.events.at(-1)!, '/api/stripe/webhook', 'whsec_new_secret_after_roll')).status).toBe(200);
      expect((await signedWebhook(s, done.events[0]!, '/api/stripe/webhook', 'whsec_neither')).status).toBe(400);
    } finally {
      stack.setEnv({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
    }
  });

  it('POST only: 405 with Allow', async () => {
    const res = await call(webhook, 'GET', '/api/stripe/webhook');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST, OPTIONS');
  });

  it('413 over 1 MiB, before verifying anything', async () => {
    const res = await post(`{"pad":"${'x'.repeat(1024 * 1024)}"}`, 't=1,v1=00');
    expect(res.status).toBe(413);
  });

  it('answers 200 for event types it does not handle, and records them as ignored', async () => {
    const event = { ...s.double.state.events[0]!, id: uid('evt'), type: 'charge.refunded' } as Stripe.Event;
    const res = await signed(event);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true, ignored: true });
    expect(await stack.sql`select outcome from billing_stripe_events where id = ${event.id}`).toEqual([{ outcome: 'ignored' }]);
  });

  it('answers in the envelope on /api/billing/webhook', async () => {
    const event = { ...s.double.state.events[0]!, id: uid('evt'), type: 'customer.created' } as Stripe.Event;
    const res = await signedWebhook(s, event, '/api/billing/webhook');
    expect(res.body).toEqual({ success: true, data: { received: true, ignored: true }, error: null });
  });
});

describe('applying each event', () => {
  it('checkout.session.completed links the account: active after payment', async () => {
    const { token, done } = await checkedOut(s);
    expect(done.deliveries.every((d) => d.status === 200)).toBe(true);
    const st = await stateOf(token);
    expect(st).toMatchObject({ state: 'active', hasAccess: true, customerId: done.customer.id });
    expect(st.subscription.id).toBe(done.subscription.id);
  });

  it('no access when the first payment fails; access once the invoice is paid', async () => {
    const { token, done } = await checkedOut(s, { paymentFails: true });
    expect((await stateOf(token)).hasAccess).toBe(false);
    await s.double.actions.payInvoice(done.invoice.id);
    expect(await stateOf(token)).toMatchObject({ state: 'active', hasAccess: true });
  });

  it('trialing, trial_will_end, then the trial converts', async () => {
    const { token, sub } = await checkedOut(s, { trialDays: 14 });
    expect((await stateOf(token)).state).toBe('trialing');
    const warned = await s.double.actions.trialWillEnd(sub);
    expect(warned.events.map((e) => e.type)).toContain('customer.subscription.trial_will_end');
    expect((await stateOf(token)).state).toBe('trialing');
    await s.double.actions.renewPeriod(sub);
    expect((await stateOf(token)).state).toBe('active');
  });

  it('invoice.payment_failed makes it past due (grace starts); invoice.paid clears it', async () => {
    const { token, sub } = await checkedOut(s);
    const failed = await s.double.actions.renewPeriod(sub, { paymentFails: true });
    expect(failed.events.map((e) => e.type)).toContain('invoice.payment_failed');
    const st = await stateOf(token);
    expect(st.state).toBe('past_due');
    expect(st.hasAccess).toBe(true);
    expect(Date.parse(st.subscription.pastDueSince)).toBe(failed.invoice!.created * 1000);
    await s.double.actions.payInvoice(failed.invoice!.id);
    const after = await stateOf(token);
    expect(after.state).toBe('active');
    expect(after.subscription.pastDueSince).toBeNull();
  });

  it('cancel at period end, resume, cancel now (customer.subscription.updated / .deleted)', async () => {
    const { token, sub } = await checkedOut(s);
    await s.double.actions.scheduleCancel(sub, true);
    expect(await stateOf(token)).toMatchObject({ state: 'canceling', hasAccess: true });
    await s.double.actions.scheduleCancel(sub, false);
    expect((await stateOf(token)).state).toBe('active');
    const deleted = await s.double.actions.cancelNow(sub);
    expect(deleted.events.map((e) => e.type)).toContain('customer.subscription.deleted');
    expect(await stateOf(token)).toMatchObject({ state: 'ended', hasAccess: false });
  });

  it('paused and resumed', async () => {
    const { token, sub } = await checkedOut(s);
    await s.double.actions.pause(sub);
    expect(await stateOf(token)).toMatchObject({ state: 'ended', hasAccess: false, subscription: { status: 'paused' } });
    await s.double.actions.resume(sub);
    expect((await stateOf(token)).state).toBe('active');
  });

  it('checkout.session.expired is recorded and changes no access', async () => {
    const user = uid('u');
    const token = await tokenFor({ sub: user });
    const res = await call(checkout, 'POST', '/api/stripe/checkout', { token });
    const expired = await s.double.actions.expireCheckout(sessionIdOf(res.body.url));
    expect(expired.deliveries.map((d) => d.status)).toEqual([200]);
    expect((await stateOf(token)).state).toBe('none');
    expect(await stack.sql`select outcome from billing_stripe_events where id = ${expired.events[0]!.id}`).toEqual([{ outcome: 'applied' }]);
  });

  it('a customer with several subscriptions: the best one decides', async () => {
    const { token, sub, done, account } = await checkedOut(s);
    const extra = await s.stripe.subscriptions.create({ customer: done.customer.id, items: [{ price: 'price_pro_monthly' }], metadata: { account_id: account } });
    await s.double.idle();
    await s.double.actions.cancelNow(sub);
    const st = await stateOf(token);
    expect(st.state).toBe('active');
    expect(st.subscription.id).toBe(extra.id);
    await expectSubscriptionsMatchStripe(stack, s, [done.customer.id]);
  });
});

describe('duplicates', () => {
  it('a redelivered event has no second effect', async () => {
    const { done } = await checkedOut(s, { deliver: false });
    const event = done.events.find((e) => e.type === 'checkout.session.completed')!;
    expect((await signed(event)).body).toEqual({ received: true });
    const again = await signed(event);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: true, duplicate: true });
    expect(await stack.sql`select count(*)::int as n from billing_stripe_events where id = ${event.id}`).toEqual([{ n: 1 }]);
  });

  it('ten copies at the same moment: one applies, the others are duplicates', async () => {
    const { done } = await checkedOut(s, { deliver: false });
    const event = done.events.find((e) => e.type === 'customer.subscription.created')!;
    const results = await Promise.all(Array.from({ length: 10 }, () => signed(event)));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(results.filter((r) => !r.body.duplicate)).toHaveLength(1);
    expect(await stack.sql`select count(*)::int as n from billing_stripe_events where id = ${event.id}`).toEqual([{ n: 1 }]);
  });
});

describe('ordering', () => {
  it('many shuffled orders of a full lifecycle, with duplicates, end in Stripe\'s state', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const { token, done, sub } = await checkedOut(s, { deliver: false });
      const off = { deliver: false };
      const steps = [
        done.events,
        (await s.double.actions.renewPeriod(sub, off)).events,
        (await s.double.actions.renewPeriod(sub, { paymentFails: true, ...off })).events,
      ];
      const open = [...s.double.state.invoices.values()].find((i) => i.parent?.subscription_details?.subscription === sub && i.status === 'open')!;
      steps.push((await s.double.actions.payInvoice(open.id, off)).events);
      steps.push((await s.double.actions.scheduleCancel(sub, true, off)).events);
      if (seed % 2 === 0) steps.push((await s.double.actions.cancelNow(sub, off)).events);
      const all = steps.flat();
      const withDuplicates = [...all, ...all.filter((_, i) => (i + seed) % 3 === 0)];
      for (const event of shuffle(withDuplicates, seed)) {
        const res = await signed(event);
        expect(res.status, `${event.type} (seed ${seed})`).toBe(200);
      }
      await expectSubscriptionsMatchStripe(stack, s, [done.customer.id]);
      expect((await stateOf(token)).state, `seed ${seed}`).toBe(seed % 2 === 0 ? 'ended' : 'canceling');
    }
  });

  it('events delivered concurrently in random order converge too', async () => {
    const { token, done, sub } = await checkedOut(s, { deliver: false });
    const more = [
      ...(await s.double.actions.renewPeriod(sub, { deliver: false })).events,
      ...(await s.double.actions.scheduleCancel(sub, true, { deliver: false })).events,
    ];
    const all = shuffle([...done.events, ...more, ...more], 99);
    const results = await Promise.all(all.map((e) => signed(e)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    await expectSubscriptionsMatchStripe(stack, s, [done.customer.id]);
    expect((await stateOf(token)).state).toBe('canceling');
  });

  it('an event that arrives before its account is linked is not lost', async () => {
    // A completed checkout session of someone else, as the shape of the link event below.
    const template = (await checkedOut(s, { deliver: false })).eventOf('checkout.session.completed');
    // The account's customer, made as our checkout makes it (metadata names the account), and
    // a subscription created outside our checkout: no account metadata at all. Its events are
    // kept (no webhook target while they are made), so only the ones this test posts arrive.
    const user = uid('u');
    const token = await tokenFor({ sub: user });
    await s.double.idle();
    s.double.setWebhook(null);
    const customer = await s.stripe.customers.create({ email: 'later@example.com', metadata: { account_id: `user:${user}` } });
    const created = await s.stripe.subscriptions.create({ customer: customer.id, items: [{ price: 'price_basic_monthly' }] });
    const events = s.double.state.events.filter((e) => (e.data.object as { id?: string }).id === created.id);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect((await signed(e)).status).toBe(200);
    expect((await stateOf(token)).state).toBe('none');
    // Stored, though no account is linked to its customer yet.
    expect(await stack.sql`select status from billing_subscriptions where id = ${created.id}`).toEqual([{ status: 'active' }]);
    // Later a completed checkout names the account. The link names no subscription, so no
    // subscription is fetched: 'active' can only come from the row the earlier events stored.
    const link = { ...events[0]!, id: uid('evt'), type: 'checkout.session.completed', data: { object: {
      ...template.data.object,
      customer: customer.id, subscription: null, client_reference_id: null, metadata: { account_id: `user:${user}` },
    } } } as Stripe.Event;
    expect((await signed(link)).status).toBe(200);
    expect(await stateOf(token)).toMatchObject({ state: 'active', customerId: customer.id, subscription: { id: created.id } });
  });
});

describe('faults', () => {
  it('Postgres down while an event is applied: 5xx, not marked done; the retry applies it', async () => {
    const { token, done } = await checkedOut(s, { deliver: false });
    const event = done.events.find((e) => e.type === 'checkout.session.completed')!;
    stack.setEnv({ DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/down' });
    const failed = await signed(event);
    stack.setEnv({ DATABASE_URL: stack.databaseUrl });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(await stack.sql`select 1 from billing_stripe_events where id = ${event.id}`).toHaveLength(0);
    expect((await signed(event)).body).toEqual({ received: true });
    expect((await stateOf(token)).state).toBe('active');
  });

  it('Stripe failing while an event is applied: 500, not marked done; the retry applies it', async () => {
    const { token, done } = await checkedOut(s, { deliver: false });
    const event = done.events.find((e) => e.type === 'checkout.session.completed')!;
    s.double.faults.inject({ method: 'GET', path: /^\/v1\/subscriptions\//, status: 500, times: 1 });
    const failed = await signed(event);
    expect(failed.status).toBe(500);
    expect(failed.body).toMatchObject({ error: 'Payment provider error' });
    expect(await stack.sql`select 1 from billing_stripe_events where id = ${event.id}`).toHaveLength(0);
    expect((await signed(event)).status).toBe(200);
    expect((await stateOf(token)).state).toBe('active');
  });

  it('a subscription Stripe does not know is recorded as ignored, not retried forever', async () => {
    const { done } = await checkedOut(s, { deliver: false });
    const base = done.events.find((e) => e.type === 'customer.subscription.updated' || e.type === 'customer.subscription.created')!;
    const ghost = { ...base, id: uid('evt'), data: { object: { ...base.data.object, id: 'sub_does_not_exist' } } } as Stripe.Event;
    const res = await signed(ghost);
    expect(res.status).toBe(200);
    expect(await stack.sql`select outcome from billing_stripe_events where id = ${ghost.id}`).toEqual([{ outcome: 'ignored' }]);
  });
});

describe('reconcile', () => {
  it('repairs what a dropped event left wrong, and is safe to run again', async () => {
    const { token, sub, done } = await checkedOut(s);
    expect((await stateOf(token)).state).toBe('active');
    await s.double.actions.scheduleCancel(sub, true, { deliver: false }); // the event is lost
    expect((await stateOf(token)).state).toBe('active');
    const log = createLogger({ function: 'test' });
    const first = await reconcile(config(), getStore(config()), log);
    expect(first.failed).toEqual([]);
    expect(first.changed).toContainEqual(expect.objectContaining({ customerId: done.customer.id, changed: 1 }));
    expect((await stateOf(token)).state).toBe('canceling');
    const second = await reconcile(config(), getStore(config()), log);
    expect(second.changed.find((c) => c.customerId === done.customer.id)).toBeUndefined();
    await expectSubscriptionsMatchStripe(stack, s, [done.customer.id]);
  });
});
