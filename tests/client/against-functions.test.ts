/**
 * The browser client against the real functions, served over HTTP with real Postgres,
 * Redis and the Stripe double: what it returns and throws is what the endpoints answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingError, createBillingClient } from '../../client/billing-client.ts';
import checkout from '../../functions/checkout.ts';
import portal from '../../functions/portal.ts';
import subscription from '../../functions/subscription.ts';
import usage from '../../functions/usage.ts';
import { serve } from '../../dev/serve.ts';
import { tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { startStripeStack, type StripeSide } from '../helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
let app: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack({ PLAN_NAMES: 'price_basic_monthly=Basic,price_pro_monthly=Pro' }));
  const routes = { checkout, portal, subscription, usage };
  app = await serve(
    Object.fromEntries(Object.entries(routes).flatMap(([name, h]) => [[`/api/billing/${name}`, h], [`/api/stripe/${name}`, h]])),
  );
});
afterAll(async () => {
  await app.close();
  await stop();
});

async function clientFor(sub: string, base = '/api/billing') {
  const token = await tokenFor({ sub, email: `${sub}@example.com` });
  return createBillingClient({ baseUrl: `${app.url}${base}`, getToken: () => token });
}

async function failure(promise: Promise<unknown>): Promise<BillingError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BillingError);
  return err as BillingError;
}

describe('the client over the real endpoints', () => {
  it('follows an account from no plan to active, with usage and a portal', async () => {
    const sub = uid('u');
    const billing = await clientFor(sub);
    await expect(billing.getSubscription()).resolves.toMatchObject({ accountId: `user:${sub}`, state: 'none', hasAccess: false, subscription: null });

    const visited: string[] = [];
    await billing.redirectToCheckout({ priceId: 'price_pro_monthly', successUrl: '/account.html?ok=1' }, { assign: (u) => void visited.push(u) });
    expect(visited).toEqual([expect.stringMatching(/\/c\/pay\/cs_/)]);
    const sessionId = /\/c\/pay\/(cs_\w+)/.exec(visited[0]!)![1]!;
    await s.double.actions.completeCheckout(sessionId);

    const now = await billing.getSubscription();
    expect(now).toMatchObject({ state: 'active', hasAccess: true, subscription: { plan: 'Pro', priceId: 'price_pro_monthly', cancelAtPeriodEnd: false } });
    const u = await billing.getUsage();
    expect(u).toMatchObject({ accountId: `user:${sub}`, recorded: 0, period: { source: 'subscription', start: now.subscription!.currentPeriodStart, end: now.subscription!.currentPeriodEnd } });
    await expect(billing.createPortal({ returnUrl: '/account.html' })).resolves.toEqual({ url: expect.stringMatching(/\/p\/session\/bps_/) });

    const again = await failure(billing.createCheckout());
    expect(again).toMatchObject({ code: 'BAD_REQUEST', status: 400, message: 'Already subscribed', requestId: expect.any(String) });
  });

  it('throws the same errors from the flat dialect', async () => {
    const billing = await clientFor(uid('u'), '/api/stripe');
    const err = await failure(billing.createPortal());
    expect(err).toMatchObject({ code: 'BAD_REQUEST', status: 400, message: 'No active subscription', requestId: expect.any(String) });
    const bad = await failure(billing.createCheckout({ priceId: 'price_nope' }));
    expect(bad).toMatchObject({ code: 'BAD_REQUEST', message: 'Unknown price' });
  });

  it('throws UNAUTHORIZED with the request id for a bad token', async () => {
    const billing = createBillingClient({ baseUrl: `${app.url}/api/billing`, getToken: () => 'not-a-jwt' });
    const err = await failure(billing.getSubscription());
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(err.requestId).toMatch(/\S/);
  });

  it('gives retryAfter when the user is rate limited', async () => {
    stack.setEnv({ RATE_LIMIT_USER: '2/1m' });
    try {
      const billing = await clientFor(uid('u'));
      await billing.getSubscription();
      await billing.getSubscription();
      const err = await failure(billing.getSubscription());
      expect(err).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(err.retryAfter).toBeGreaterThan(0);
      expect(err.retryAfter).toBeLessThanOrEqual(60);
    } finally {
      stack.setEnv({ RATE_LIMIT_USER: undefined });
    }
  });
});
