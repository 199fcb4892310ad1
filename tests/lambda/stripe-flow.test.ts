/**
 * The whole billing flow on Lambda, for each event kind: real HTTP through a local gateway
 * into the Lambda entries, the Stripe double as Stripe (its signed webhooks go through the
 * adapter base64-encoded), the real Postgres and Redis. Checkout, payment, webhook,
 * subscription, portal, usage recorded and reported by the scheduled entry.
 */
import { checkoutSessionIdOf } from '../../dev/stripe-double/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as checkout } from '../../lambda/checkout.ts';
import { handler as portal } from '../../lambda/portal.ts';
import { handler as subscription } from '../../lambda/subscription.ts';
import { handler as usageReport } from '../../lambda/usage-report.ts';
import { handler as usage } from '../../lambda/usage.ts';
import { handler as webhook } from '../../lambda/webhook.ts';
import { startStack, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { startStripe, WEBHOOK_SECRET, type StripeSide } from '../helpers/stripe.ts';
import { KINDS, lambdaContext } from './events.ts';
import { serveLambdas } from './gateway.ts';

const SERVICE_KEY = 'svc_lambda_0123456789abcdefghijklmnop';
let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  stack = await startStack();
  s = await startStripe(stack);
  stack.setEnv({ BILLING_SERVICE_KEY: SERVICE_KEY, STRIPE_METER_EVENT_NAME: 'tracked_events', STRIPE_METER_ID: 'mtr_double_events' });
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

describe.each(KINDS)('billing flow on Lambda, %s events', (kind) => {
  let gateway: Awaited<ReturnType<typeof serveLambdas>>;
  beforeAll(async () => {
    gateway = await serveLambdas({ checkout, portal, subscription, usage, webhook }, kind);
    s.double.setWebhook({ url: `${gateway.url}/api/stripe/webhook`, secret: WEBHOOK_SECRET });
  });
  afterAll(() => gateway.close());

  const api = async (method: string, path: string, opts: { auth?: string; body?: unknown } = {}) => {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { ...(opts.auth ? { authorization: opts.auth } : {}), ...(opts.body ? { 'content-type': 'application/json' } : {}) },
      ...(opts.body ? { body: JSON.stringify(opts.body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  it('checkout, payment, signed webhooks, then subscription, portal and usage', async () => {
    const user = uid('u');
    const auth = `Bearer ${await tokenFor({ sub: user })}`;

    const started = await api('POST', '/api/stripe/checkout', { auth, body: { successUrl: '/welcome' } });
    expect(started.status).toBe(200);
    const sessionId = checkoutSessionIdOf(started.body.url);

    // The customer pays; the double signs each event and posts it to the webhook Lambda.
    const paid = await s.double.actions.completeCheckout(sessionId);
    await s.double.idle();
    expect(paid.deliveries.length).toBeGreaterThan(0);
    for (const d of paid.deliveries) expect([d.type, d.status, d.url]).toEqual([d.type, 200, `${gateway.url}/api/stripe/webhook`]);

    const state = await api('GET', '/api/billing/subscription', { auth });
    expect(state.status).toBe(200);
    expect(state.body.data).toMatchObject({
      state: 'active',
      hasAccess: true,
      customerId: paid.customer.id,
      subscription: { id: paid.subscription.id, status: 'active' },
    });
    expect((await api('POST', '/api/stripe/checkout', { auth })).body).toMatchObject({ error: expect.stringMatching(/^Already subscribed/), code: 'ALREADY_SUBSCRIBED' });

    const portalSession = await api('POST', '/api/stripe/portal', { auth, body: { returnUrl: '/account' } });
    expect(portalSession.status).toBe(200);
    expect(portalSession.body.url).toMatch(/\/p\/session\//);

    const key = uid('k');
    const recorded = await api('POST', '/api/stripe/usage', { auth: `Bearer ${SERVICE_KEY}`, body: { accountId: `user:${user}`, quantity: 7, idempotencyKey: key } });
    expect(recorded).toMatchObject({ status: 200, body: { accepted: 1, duplicates: [] } });

    // The scheduled reporter, invoked as EventBridge invokes it, sends the usage to Stripe.
    const report = await usageReport({ 'detail-type': 'Scheduled Event', time: new Date().toISOString() }, lambdaContext());
    expect(report).toMatchObject({ stopped: 'done', failed: 0 });
    expect(report.reported).toBeGreaterThanOrEqual(1);

    const seen = await api('GET', '/api/billing/usage', { auth });
    expect(seen.status).toBe(200);
    expect(seen.body.data).toMatchObject({ accountId: `user:${user}`, recorded: 7, reported: 7, pending: 0 });
  });

  it('a webhook Stripe sends again is answered 200 as a duplicate, and one signed with another secret 400', async () => {
    const last = s.double.state.events.at(-1)!;
    const again = await s.double.deliver(last);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.responseBody!)).toMatchObject({ received: true, duplicate: true });
    const forged = await s.double.deliver(last, { secret: 'whsec_not_ours' });
    expect(forged.status).toBe(400);
  });
});
