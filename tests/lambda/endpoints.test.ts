/**
 * Every endpoint through its Lambda entry (lambda/<name>.ts), for each of the three event
 * kinds, against the real Postgres and Redis of the test stack. Stripe is not called here:
 * the webhook gets an event type it verifies, records and ignores, and checkout / portal
 * are driven to answers decided from our own database.
 */
import Stripe from 'stripe';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as checkout } from '../../lambda/checkout.ts';
import { handler as portal } from '../../lambda/portal.ts';
import { handler as subscription } from '../../lambda/subscription.ts';
import { handler as webhook } from '../../lambda/webhook.ts';
import { config } from '../../shared/config.ts';
import { getStore } from '../../shared/store/index.ts';
import { startStack, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { eventFor, invoke, KINDS, lambdaContext, readResult, type Described } from './events.ts';

const WEBHOOK_SECRET = 'whsec_lambda_suite_secret';
let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_PRICE_ID: 'price_basic' });
});
afterAll(() => stack.stop());

const HTTP = { checkout, portal, subscription, webhook };

/** A Stripe event of a type the webhook verifies, records and ignores (no Stripe call). */
function customerCreated() {
  const id = `evt_${randomBytes(12).toString('hex')}`;
  const payload = JSON.stringify(
    {
      id,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      // Non-ASCII on purpose: a body decoded as anything but the exact bytes fails the signature.
      data: { object: { id: `cus_${randomBytes(7).toString('hex')}`, object: 'customer', name: 'Zoë Müller — 東京', email: null } },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: 'customer.created',
    },
    null,
    2, // Stripe sends pretty-printed JSON; whitespace is part of what is signed
  );
  return { id, payload, signature: Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }) };
}

describe.each(KINDS)('endpoints on Lambda, %s events', (kind) => {
  it('GET subscription: 200 in both dialects, with the event request id in X-Request-Id', async () => {
    const user = uid('u');
    const token = await tokenFor({ sub: user });
    const flat = await invoke(subscription, kind, {
      method: 'GET',
      path: '/api/stripe/subscription',
      headers: [['Authorization', `Bearer ${token}`]],
      requestId: 'req-flat-1',
    });
    expect(flat.status).toBe(200);
    expect(flat.body).toMatchObject({ accountId: `user:${user}`, state: 'none', hasAccess: false });
    expect(flat.headers['x-request-id']).toBe('req-flat-1');
    expect(flat.headers['x-ratelimit-limit']).toBe('100'); // went through the real limiter
    const env = await invoke(subscription, kind, { method: 'GET', path: '/api/billing/subscription', headers: [['Authorization', `Bearer ${token}`]] });
    expect(env.body).toEqual({ success: true, data: flat.body, error: null });
  });

  it('GET subscription without a token: 401 with WWW-Authenticate, request id in the body', async () => {
    const res = await invoke(subscription, kind, { method: 'GET', path: '/api/billing/subscription', requestId: 'req-401' });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body).toMatchObject({ success: false, data: null, error: { code: 'UNAUTHORIZED', requestId: 'req-401' } });
  });

  it('OPTIONS preflight on every endpoint, both path families: 204 with CORS headers', async () => {
    for (const [name, handler] of Object.entries(HTTP)) {
      for (const family of ['stripe', 'billing']) {
        const res = await invoke(handler, kind, {
          method: 'OPTIONS',
          path: `/api/${family}/${name}`,
          headers: [['Origin', 'https://app.example.com'], ['Access-Control-Request-Method', 'POST']],
        });
        expect(res.status, `${family}/${name}`).toBe(204);
        expect(res.text).toBe('');
        expect(res.headers['access-control-allow-origin']).toBe('*');
        expect(res.headers['access-control-allow-methods']).toBe('POST, GET, OPTIONS');
      }
    }
  });

  it('a method the endpoint does not serve: 405 with Allow', async () => {
    const res = await invoke(checkout, kind, { method: 'GET', path: '/api/stripe/checkout' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST, OPTIONS');
    expect(res.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
  });

  it('POST checkout reads a (base64) JSON body: an unknown price is 400, a subscribed account is 400', async () => {
    const user = uid('u');
    const auth: [string, string] = ['Authorization', `Bearer ${await tokenFor({ sub: user })}`];
    const json: [string, string] = ['Content-Type', 'application/json'];
    const unknown = await invoke(checkout, kind, {
      method: 'POST', path: '/api/billing/checkout', headers: [auth, json], body: JSON.stringify({ priceId: 'enterprise_monthly' }), base64: true,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'BAD_REQUEST', message: 'Unknown price' });
    const strict = await invoke(checkout, kind, { method: 'POST', path: '/api/stripe/checkout', headers: [auth, json], body: '{"color":"red"}' });
    expect(strict.status).toBe(400);
    expect(strict.body.error).toMatch(/unknown field/);

    const store = getStore(config());
    const customer = uid('cus');
    await store.linkCustomer({ account_id: `user:${user}`, kind: 'user', customer_id: customer });
    const start = Math.floor(Date.now() / 1000) - 86_400;
    await store.applyEvent({
      event: null,
      subscriptions: [{
        id: uid('sub'), customer_id: customer, account_id: `user:${user}`, status: 'active', price_id: 'price_basic', product_id: 'prod_basic',
        quantity: 1, current_period_start: new Date(start * 1000).toISOString(), current_period_end: new Date((start + 30 * 86_400) * 1000).toISOString(),
        cancel_at_period_end: false, cancel_at: null, canceled_at: null, ended_at: null, trial_start: null, trial_end: null, past_due_since: null,
    pending_price_id: null, pending_product_id: null, pending_quantity: null, pending_effective_at: null,
        stripe_created: new Date(start * 1000).toISOString(), snapshot_at: Date.now(),
      }],
    });
    const subscribed = await invoke(checkout, kind, { method: 'POST', path: '/api/stripe/checkout', headers: [auth, json], body: '{}', base64: kind !== 'rest-api' });
    expect(subscribed.status).toBe(409);
    expect(subscribed.body).toMatchObject({ error: 'Already subscribed: change the plan or seats with POST /api/stripe/subscription', code: 'ALREADY_SUBSCRIBED' });
  });

  it('POST portal for an account without a subscription: 400 No active subscription', async () => {
    const res = await invoke(portal, kind, {
      method: 'POST',
      path: '/api/billing/portal',
      headers: [['Authorization', `Bearer ${await tokenFor({ sub: uid('u') })}`], ['Content-Type', 'application/json']],
      body: JSON.stringify({ returnUrl: '/dashboard' }),
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'BAD_REQUEST', message: 'No active subscription' });
  });

  it('POST webhook: a signed event delivered base64-encoded verifies, is recorded once, and is answered 200', async () => {
    const { id, payload, signature } = customerCreated();
    const delivery = (): Described => ({
      method: 'POST',
      path: '/api/stripe/webhook',
      headers: [['Content-Type', 'application/json; charset=utf-8'], ['Stripe-Signature', signature]],
      body: payload,
      base64: true,
    });
    const first = await invoke(webhook, kind, delivery());
    expect(first.status, first.text).toBe(200);
    expect(first.body).toEqual({ received: true, ignored: true });
    const [row] = await stack.sql`select type, outcome from billing_stripe_events where id = ${id}`;
    expect(row).toEqual({ type: 'customer.created', outcome: 'ignored' });
    const again = await invoke(webhook, kind, delivery());
    expect(again.body).toEqual({ received: true, duplicate: true, ignored: true });
  });

  it('POST webhook: the same event as a plain text body verifies too', async () => {
    const { payload, signature } = customerCreated();
    const res = await invoke(webhook, kind, {
      method: 'POST', path: '/api/billing/webhook', headers: [['Stripe-Signature', signature], ['Content-Type', 'application/json']], body: payload,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({ success: true, data: { received: true, ignored: true }, error: null });
  });

  it('POST webhook: a body over 1 MiB is refused with 413 before it is verified', async () => {
    const res = await invoke(webhook, kind, {
      method: 'POST', path: '/api/stripe/webhook', headers: [['Stripe-Signature', 't=1,v1=00']], body: Buffer.alloc(1024 * 1024 + 1, 0x20), base64: true,
    });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
  });

  it('POST webhook: a tampered base64 body is refused with 400 and nothing is recorded', async () => {
    const { id, payload, signature } = customerCreated();
    const tampered = Buffer.from(payload, 'utf8');
    const at = tampered.indexOf('Zoë');
    tampered[at] = 'J'.charCodeAt(0); // one byte changed
    const res = await invoke(webhook, kind, {
      method: 'POST', path: '/api/stripe/webhook', headers: [['Stripe-Signature', signature], ['Content-Type', 'application/json']], body: tampered, base64: true,
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'Invalid signature', code: 'BAD_REQUEST' });
    expect(await stack.sql`select 1 from billing_stripe_events where id = ${id}`).toHaveLength(0);
  });
});

describe('endpoints on Lambda, request ids', () => {
  it('falls back to the Lambda context awsRequestId when the event carries none', async () => {
    const event = eventFor('function-url', { method: 'OPTIONS', path: '/api/stripe/subscription' });
    delete (event.requestContext as { requestId?: string }).requestId;
    const res = readResult(await subscription(event, lambdaContext('aws-ctx-7')));
    expect(res.headers['x-request-id']).toBe('aws-ctx-7');
  });
});
