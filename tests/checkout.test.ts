import { checkoutSessionIdOf as sessionIdOf } from '../dev/stripe-double/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../functions/checkout.ts';
import subscription from '../functions/subscription.ts';
import { call, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { insideOneCheckoutWindow, startStripeStack, type StripeSide } from './helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
});
afterAll(() => stop());

describe('POST checkout', () => {
  it('creates a subscription-mode session carrying the account in metadata, in both dialects', async () => {
    const user = uid('u');
    const token = await tokenFor({ sub: user, email: 'ada@example.com' });
    const flat = await call(checkout, 'POST', '/api/stripe/checkout', { token });
    expect(flat.status).toBe(200);
    expect(flat.body.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/c\/pay\/cs_/);
    const session = await s.stripe.checkout.sessions.retrieve(sessionIdOf(flat.body.url));
    expect(session.mode).toBe('subscription');
    expect(session.client_reference_id).toBe(`user:${user}`);
    expect(session.metadata).toEqual({ account_id: `user:${user}`, user_id: user, email: 'ada@example.com' });
    // The seeds' frontends read ?success=true and ?canceled=true.
    expect(session.success_url).toBe('https://app.example.com/dashboard?success=true');
    expect(session.cancel_url).toBe('https://app.example.com/dashboard?canceled=true');
    expect(session.allowed_payment_method_types).toEqual(['card']);
    const items = await s.stripe.checkout.sessions.listLineItems(session.id);
    expect(items.data.map((i) => i.price?.id)).toEqual(['price_basic_monthly']);
    expect(typeof session.customer).toBe('string');
    const customer = await s.stripe.customers.retrieve(session.customer as string);
    expect(customer).toMatchObject({ email: 'ada@example.com', metadata: { account_id: `user:${user}` } });

    const envelope = await call(checkout, 'POST', '/api/billing/checkout', { token: await tokenFor({ sub: uid('u') }) });
    expect(envelope.status).toBe(200);
    expect(envelope.body).toMatchObject({ success: true, error: null, data: { url: expect.stringContaining('/c/pay/cs_') } });
  });

  it('returns to CHECKOUT_SUCCESS_PATH and CHECKOUT_CANCEL_PATH when they are set', async () => {
    stack.setEnv({ CHECKOUT_SUCCESS_PATH: '/welcome?plan=new', CHECKOUT_CANCEL_PATH: '/pricing?canceled=true' });
    try {
      const res = await call(checkout, 'POST', '/api/stripe/checkout', { token: await tokenFor({ sub: uid('u') }) });
      expect(res.status, res.text).toBe(200);
      const session = await s.stripe.checkout.sessions.retrieve(sessionIdOf(res.body.url));
      expect(session.success_url).toBe('https://app.example.com/welcome?plan=new');
      expect(session.cancel_url).toBe('https://app.example.com/pricing?canceled=true');
    } finally {
      stack.setEnv({ CHECKOUT_SUCCESS_PATH: undefined, CHECKOUT_CANCEL_PATH: undefined });
    }
  });

  it('puts the account metadata on the subscription it creates', async () => {
    const user = uid('u');
    const res = await call(checkout, 'POST', '/api/stripe/checkout', { token: await tokenFor({ sub: user }) });
    const done = await s.double.actions.completeCheckout(sessionIdOf(res.body.url));
    const sub = await s.stripe.subscriptions.retrieve(done.subscription.id);
    expect(sub.metadata).toMatchObject({ account_id: `user:${user}`, user_id: user });
  });

  it('uses a price from the allowlist and refuses any other (price tampering)', async () => {
    const token = await tokenFor({ sub: uid('u') });
    const pro = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { priceId: 'price_pro_monthly' } });
    expect(pro.status).toBe(200);
    const items = await s.stripe.checkout.sessions.listLineItems(sessionIdOf(pro.body.url));
    expect(items.data[0]!.price?.id).toBe('price_pro_monthly');
    for (const priceId of ['price_usage_metered', 'price_free', '', 'price_basic_monthly ']) {
      const res = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { priceId } });
      expect(res.status, priceId).toBe(400);
    }
  });

  it('refuses unknown fields, malformed JSON and bodies over 64 KiB', async () => {
    const token = await tokenFor({ sub: uid('u') });
    const unknown = await call(checkout, 'POST', '/api/billing/checkout', { token, body: { customer: 'cus_someone_else' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/customer/);
    const malformed = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: '{"priceId":' });
    expect(malformed).toMatchObject({ status: 400, body: { error: 'Malformed JSON body', code: 'BAD_REQUEST' } });
    const huge = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { successUrl: `/${'a'.repeat(70_000)}` } });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses redirects off the site (open redirect attacks)', async () => {
    const token = await tokenFor({ sub: uid('u') });
    const attacks = [
      '//evil.example', '//evil.example/path', 'https://app.example.com.evil.example/x', 'https://evil.example',
      'javascript:alert(1)', 'data:text/html,hi', 'http://app.example.com/dashboard', '/\\evil.example',
      '\\\\evil.example', 'https://app.example.com@evil.example/', ' /dashboard', 'https:evil.example', '',
    ];
    for (const url of attacks) {
      for (const field of ['successUrl', 'cancelUrl']) {
        const res = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { [field]: url } });
        expect(res.status, `${field}=${url}`).toBe(400);
      }
    }
    const ok = await call(checkout, 'POST', '/api/stripe/checkout', {
      token, body: { successUrl: '/dashboard?success=true', cancelUrl: 'https://app.example.com/pricing?canceled=true' },
    });
    expect(ok.status).toBe(200);
    const session = await s.stripe.checkout.sessions.retrieve(sessionIdOf(ok.body.url));
    expect(session.success_url).toBe('https://app.example.com/dashboard?success=true');
    expect(session.cancel_url).toBe('https://app.example.com/pricing?canceled=true');
  });

  it('concurrent first checkouts for one account create exactly one customer', async () => {
    const org = uid('org');
    const tokens = await Promise.all([1, 2, 3, 4, 5, 6].map(() => tokenFor({ sub: uid('u'), org, role: 'owner' })));
    const results = await Promise.all(
      tokens.map((token, i) => call(checkout, 'POST', '/api/stripe/checkout', { token, body: { successUrl: `/dashboard?n=${i}` } })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const sessions = await Promise.all(results.map((r) => s.stripe.checkout.sessions.retrieve(sessionIdOf(r.body.url))));
    expect(new Set(sessions.map((x) => x.customer)).size).toBe(1);
    const customers = await s.stripe.customers.list({ limit: 100 });
    expect(customers.data.filter((c) => c.metadata['account_id'] === `org:${org}`)).toHaveLength(1);
    const rows = await stack.sql`select stripe_customer_id from billing_accounts where id = ${`org:${org}`}`;
    expect(rows).toEqual([{ stripe_customer_id: sessions[0]!.customer }]);
  });

  it('a double click returns the same session', async () => {
    const token = await tokenFor({ sub: uid('u') });
    await insideOneCheckoutWindow();
    const [a, b] = await Promise.all([1, 2].map(() => call(checkout, 'POST', '/api/stripe/checkout', { token })));
    expect([a!.status, b!.status]).toEqual([200, 200]);
    expect(a!.body.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/c\/pay\/cs_/);
    expect(a!.body.url).toBe(b!.body.url);
  });

  it('only billing managers may check out for an organization', async () => {
    const org = uid('org');
    for (const role of ['member', 'viewer', undefined]) {
      const res = await call(checkout, 'POST', '/api/billing/checkout', { token: await tokenFor({ sub: uid('u'), org, role }) });
      expect(res.status, String(role)).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    for (const role of ['owner', 'admin']) {
      const res = await call(checkout, 'POST', '/api/billing/checkout', { token: await tokenFor({ sub: uid('u'), org, role }) });
      expect(res.status, role).toBe(200);
    }
  });

  it('refuses "Already subscribed" while the account has access, and lets an ended account subscribe again', async () => {
    const user = uid('u');
    const token = await tokenFor({ sub: user });
    const first = await call(checkout, 'POST', '/api/stripe/checkout', { token });
    const done = await s.double.actions.completeCheckout(sessionIdOf(first.body.url));
    expect((await call(subscription, 'GET', '/api/stripe/subscription', { token })).body.state).toBe('active');
    const again = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { successUrl: '/again' } });
    // Not a dead end: the answer names the endpoint that changes plans, in the caller's dialect.
    expect(again).toMatchObject({ status: 409, body: { error: 'Already subscribed: change the plan or seats with POST /api/stripe/subscription', code: 'ALREADY_SUBSCRIBED', details: { change: '/api/stripe/subscription' } } });
    const env = await call(checkout, 'POST', '/api/billing/checkout', { token, body: { successUrl: '/again' } });
    expect(env.body).toMatchObject({ success: false, error: { code: 'ALREADY_SUBSCRIBED', message: 'Already subscribed: change the plan or seats with POST /api/billing/subscription', details: { change: '/api/billing/subscription' } } });

    await s.double.actions.cancelNow(done.subscription.id);
    expect((await call(subscription, 'GET', '/api/stripe/subscription', { token })).body.state).toBe('ended');
    const resubscribe = await call(checkout, 'POST', '/api/stripe/checkout', { token, body: { successUrl: '/back' } });
    expect(resubscribe.status).toBe(200);
    const session = await s.stripe.checkout.sessions.retrieve(sessionIdOf(resubscribe.body.url));
    expect(session.customer).toBe((await s.stripe.subscriptions.retrieve(done.subscription.id)).customer);
  });

  it('applies the trial, promotion code and automatic tax settings', async () => {
    stack.setEnv({ STRIPE_TRIAL_DAYS: '14', STRIPE_ALLOW_PROMOTION_CODES: 'true', STRIPE_AUTOMATIC_TAX: 'true' });
    try {
      const res = await call(checkout, 'POST', '/api/stripe/checkout', { token: await tokenFor({ sub: uid('u') }) });
      const session = await s.stripe.checkout.sessions.retrieve(sessionIdOf(res.body.url));
      expect(session.allow_promotion_codes).toBe(true);
      expect(session.automatic_tax.enabled).toBe(true);
      const done = await s.double.actions.completeCheckout(session.id);
      expect(done.subscription.status).toBe('trialing');
    } finally {
      stack.setEnv({ STRIPE_TRIAL_DAYS: undefined, STRIPE_ALLOW_PROMOTION_CODES: undefined, STRIPE_AUTOMATIC_TAX: undefined });
    }
  });

  it('answers a Stripe failure with 500 "Payment provider error", never Stripe\'s message', async () => {
    s.double.faults.inject({ method: 'POST', path: /^\/v1\/checkout\/sessions$/, status: 500, times: 1 });
    const res = await call(checkout, 'POST', '/api/stripe/checkout', { token: await tokenFor({ sub: uid('u') }) });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: 'Payment provider error', code: 'INTERNAL_ERROR', requestId: res.headers.get('x-request-id') });
  });

  it('lets the SDK retry what Stripe marks retryable', async () => {
    stack.setEnv({ STRIPE_MAX_RETRIES: '2' });
    try {
      s.double.faults.inject({ method: 'POST', path: /^\/v1\/checkout\/sessions$/, status: 503, times: 1 });
      const res = await call(checkout, 'POST', '/api/stripe/checkout', { token: await tokenFor({ sub: uid('u') }) });
      expect(res.status).toBe(200);
    } finally {
      stack.setEnv({ STRIPE_MAX_RETRIES: '0' });
    }
  });
});
