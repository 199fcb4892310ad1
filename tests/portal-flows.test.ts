/**
 * POST portal with `flow`: deep links into one task of the Stripe portal, for the caller's own
 * subscription. Real stack (Postgres, Redis, the Stripe double and its webhooks); the double's
 * portal page is driven in a real browser, and the site it returns to is answered by the test.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingError, createBillingClient } from '../client/billing-client.ts';
import { serve } from '../dev/serve.ts';
import portal from '../functions/portal.ts';
import { syncCatalogue } from '../scripts/plans/sync.ts';
import { config } from '../shared/config.ts';
import subscription from '../functions/subscription.ts';
import { launchBrowser } from './e2e/browser.ts';
import { call, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { checkedOut, startStripeStack, WEBHOOK_SECRET, type StripeSide } from './helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const pageErrors: string[] = [];

const SITE = 'https://app.example.com';

beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
  browser = await launchBrowser();
  // The site the portal sends the customer back to.
  await browser.context.route(`${SITE}/**`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>Back on the site</h1>' }));
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stop();
});

const sessionOf = (url: string) => s.double.state.portalSessions.get(/\/(bps_[A-Za-z0-9_]+)/.exec(url)![1]!)!;
const state = async (token: string) => (await call(subscription, 'GET', '/api/stripe/subscription', { token })).body;

async function openPage(url: string): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(url);
  return page;
}

/**
 * Runs `fn` while the app's webhooks arrive `ms` late (a proxy in front of the webhook), as
 * they may from Stripe: what the site shows on return then depends on the portal waiting.
 */
async function withSlowWebhooks(ms: number, fn: () => Promise<void>): Promise<void> {
  const target = `${s.appUrl}/api/stripe/webhook`;
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const headers = { 'content-type': String(req.headers['content-type']), 'stripe-signature': String(req.headers['stripe-signature']) };
        fetch(target, { method: 'POST', headers, body: Buffer.concat(chunks) })
          .then(async (r) => res.writeHead(r.status).end(await r.text()))
          .catch(() => res.writeHead(502).end());
      }, ms);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  s.double.setWebhook({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, secret: WEBHOOK_SECRET });
  try {
    await fn();
  } finally {
    s.double.setWebhook({ url: target, secret: WEBHOOK_SECRET });
    await new Promise((resolve) => proxy.close(resolve));
  }
}

/** A customer whose renewal payment failed: past_due, with an open invoice. */
async function pastDue() {
  const user = await checkedOut(s);
  await s.double.actions.renewPeriod(user.sub, { paymentFails: true });
  expect((await state(user.token)).subscription.status).toBe('past_due');
  return user;
}

describe('POST portal without flow', () => {
  it('is unchanged: the portal home page, no flow', async () => {
    const { token } = await checkedOut(s);
    const res = await call(portal, 'POST', '/api/stripe/portal', { token });
    expect(res.status, res.text).toBe(200);
    expect(Object.keys(res.body)).toEqual(['url']);
    expect(sessionOf(res.body.url)).toMatchObject({ flow: null, return_url: `${SITE}/dashboard` });
    const page = await openPage(res.body.url);
    await page.waitForSelector('#page:not([hidden]) .plan');
    expect(await page.locator('#flow').isHidden()).toBe(true);
    await page.close();
  });
});

describe('POST portal with flow: bad input, decided before any Stripe call', () => {
  const noStripeCall = async (run: () => Promise<void>) => {
    const before = s.double.requestLog.length;
    await run();
    expect(s.double.requestLog.slice(before)).toEqual([]);
  };

  it('400 for an unknown flow, priceId without the update flow, an update naming nothing, a price outside the catalogue', async () => {
    const { token } = await checkedOut(s);
    await noStripeCall(async () => {
      const unknown = await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'subscription_pause' } });
      expect(unknown).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
      expect(unknown.body.error).toContain('flow');
      const env = await call(portal, 'POST', '/api/billing/portal', { token, body: { flow: 'nope' } });
      expect(env).toMatchObject({ status: 400, body: { success: false, error: { code: 'BAD_REQUEST' } } });
      expect((await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'subscription_cancel', priceId: 'pro_monthly' } })).body)
        .toMatchObject({ error: 'priceId and quantity go with flow subscription_update_confirm' });
      expect((await call(portal, 'POST', '/api/stripe/portal', { token, body: { priceId: 'pro_monthly' } })).status).toBe(400);
      expect((await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'subscription_update_confirm' } })).status).toBe(400);
      const price = await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'subscription_update_confirm', priceId: 'enterprise_monthly' } });
      expect(price).toMatchObject({ status: 400, body: { error: 'Unknown price', code: 'BAD_REQUEST' } });
      const seats = await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'subscription_update_confirm', priceId: 'pro_monthly', quantity: 0 } });
      expect(seats.status).toBe(400);
      const perSeat = await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'subscription_update_confirm', priceId: 'pro', quantity: 3 } });
      expect(perSeat).toMatchObject({ status: 400, body: { error: 'Plan pro is not sold per seat: quantity must be 1' } });
    });
  });

  it('409 NO_SUBSCRIPTION for a flow on an account without a subscription, naming checkout in its dialect', async () => {
    const token = await tokenFor({ sub: uid('u') });
    await noStripeCall(async () => {
      for (const flow of ['subscription_cancel', 'subscription_update_confirm', 'payment_method_update']) {
        const body = flow === 'subscription_update_confirm' ? { flow, priceId: 'pro_monthly' } : { flow };
        const flat = await call(portal, 'POST', '/api/stripe/portal', { token, body });
        expect(flat, flow).toMatchObject({ status: 409, body: { code: 'NO_SUBSCRIPTION', details: { checkout: '/api/stripe/checkout' } } });
        const env = await call(portal, 'POST', '/api/billing/portal', { token, body });
        expect(env, flow).toMatchObject({ status: 409, body: { success: false, error: { code: 'NO_SUBSCRIPTION', details: { checkout: '/api/billing/checkout' } } } });
      }
    });
  });

  it('409 CONFLICT: cancel a subscription already ending, change one that is past due', async () => {
    const ending = await checkedOut(s);
    await s.double.actions.scheduleCancel(ending.sub);
    const due = await pastDue();
    await noStripeCall(async () => {
      expect(await call(portal, 'POST', '/api/stripe/portal', { token: ending.token, body: { flow: 'subscription_cancel' } }))
        .toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
      const change = await call(portal, 'POST', '/api/stripe/portal', { token: due.token, body: { flow: 'subscription_update_confirm', priceId: 'pro_monthly' } });
      expect(change).toMatchObject({ status: 409, body: { code: 'CONFLICT' } });
      expect(change.body.error).toContain('payment_method_update');
    });
  });

  it('organization members who are not billing managers get 403, with or without a flow', async () => {
    const org = uid('org');
    await checkedOut(s, { org });
    const member = await tokenFor({ sub: uid('u'), org, role: 'member' });
    expect((await call(portal, 'POST', '/api/stripe/portal', { token: member, body: { flow: 'subscription_cancel' } })).status).toBe(403);
  });
});

describe('POST portal with flow: the deep link and its page', () => {
  it('payment_method_update: the card form pays the open invoice, the subscription is active again, back on the site', async () => {
    const { token, customer } = await pastDue();
    const res = await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'payment_method_update', returnUrl: '/billing?fixed=1' } });
    expect(res.status, res.text).toBe(200);
    expect(sessionOf(res.body.url)).toMatchObject({
      customer,
      flow: { type: 'payment_method_update', after_completion: { type: 'redirect', redirect: { return_url: `${SITE}/billing?fixed=1` } } },
    });

    const page = await openPage(res.body.url);
    await page.waitForSelector('#flow:not([hidden])');
    expect(await page.locator('#flow-title').innerText()).toBe('Add a payment method');
    expect(await page.locator('#flow-text').innerText()).toContain('$9.00');
    expect(await page.locator('#page').isHidden()).toBe(true); // a deep link shows only its task
    // A declined card changes nothing.
    await page.fill('#card-number', '4000 0000 0000 0002');
    await page.click('#flow-confirm');
    await expect.poll(() => page.locator('#error').innerText()).toBe('Your card was declined.');
    expect((await state(token)).subscription.status).toBe('past_due');

    await page.fill('#card-number', '4242 4242 4242 4242');
    await page.click('#flow-confirm');
    await page.waitForURL(`${SITE}/billing?fixed=1`);
    expect(await state(token)).toMatchObject({ state: 'active', subscription: { status: 'active' } });
    await page.close();
  });

  it('subscription_cancel: confirming cancels at the period end, back on the site the state is canceling', async () => {
    const { token, sub } = await checkedOut(s);
    const res = await call(portal, 'POST', '/api/billing/portal', { token, body: { flow: 'subscription_cancel' } });
    expect(res.status, res.text).toBe(200);
    const url: string = res.body.data.url;
    expect(sessionOf(url).flow).toMatchObject({ type: 'subscription_cancel', subscription_cancel: { subscription: sub }, after_completion: { type: 'redirect' } });

    const page = await openPage(url);
    await page.waitForSelector('#flow:not([hidden])');
    expect(await page.locator('#flow-title').innerText()).toBe('Cancel your plan');
    expect(await page.locator('#flow-text').innerText()).toContain('until the end of your billing period');
    await page.click('#flow-confirm');
    await page.waitForURL(`${SITE}/dashboard`);
    expect(await state(token)).toMatchObject({ state: 'canceling', hasAccess: true, subscription: { status: 'active' } });
    expect(s.double.state.subscriptions.get(sub)).toMatchObject({ status: 'active', cancel_at_period_end: true });
    await page.close();
  });

  it('subscription_update_confirm: shows Basic to Pro, confirming changes the plan, back on the site it is Pro', async () => {
    const { token, sub } = await checkedOut(s);
    const item = s.double.state.subscriptions.get(sub)!.items.data[0]!;
    const res = await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'subscription_update_confirm', priceId: 'pro_monthly', returnUrl: '/plans?changed=1' } });
    expect(res.status, res.text).toBe(200);
    expect(sessionOf(res.body.url).flow).toMatchObject({
      type: 'subscription_update_confirm',
      subscription_update_confirm: { subscription: sub, items: [{ id: item.id, price: 'price_pro_monthly', quantity: 1 }] },
      after_completion: { type: 'redirect', redirect: { return_url: `${SITE}/plans?changed=1` } },
    });

    const page = await openPage(res.body.url);
    await page.waitForSelector('#flow:not([hidden])');
    expect(await page.locator('#flow-title').innerText()).toBe('Confirm your plan change');
    expect(await page.locator('#flow-from').innerText()).toContain('Basic');
    expect(await page.locator('#flow-to').innerText()).toMatch(/Pro[\s\S]*\$29\.00/);
    await withSlowWebhooks(400, async () => {
      await page.click('#flow-confirm');
      await page.waitForURL(`${SITE}/plans?changed=1`);
      // The page waited for the update's webhooks: the site shows the new plan at once.
      expect(await state(token)).toMatchObject({ state: 'active', subscription: { priceId: 'price_pro_monthly', plan: 'Pro' } });
    });
    expect(s.double.state.subscriptions.get(sub)!.items.data[0]!.price.id).toBe('price_pro_monthly');
    await page.close();
  });

  it('the browser client: createPortal and redirectToPortal take the flow, the old calls work unchanged', async () => {
    const { token, sub } = await checkedOut(s);
    const app = await serve({ '/api/billing/portal': portal });
    try {
      const billing = createBillingClient({ baseUrl: `${app.url}/api/billing`, getToken: () => token });
      expect(sessionOf((await billing.createPortal()).url).flow).toBeNull();
      expect(sessionOf((await billing.createPortal({ returnUrl: '/account' })).url)).toMatchObject({ flow: null, return_url: `${SITE}/account` });
      const cancel = await billing.createPortal({ flow: 'subscription_cancel', returnUrl: '/account' });
      expect(sessionOf(cancel.url).flow).toMatchObject({ type: 'subscription_cancel', subscription_cancel: { subscription: sub } });
      const assigned: string[] = [];
      await billing.redirectToPortal({ flow: 'subscription_update_confirm', priceId: 'pro', quantity: 1 }, { assign: (url: string) => assigned.push(url) });
      expect(sessionOf(assigned[0]!).flow).toMatchObject({ type: 'subscription_update_confirm', subscription_update_confirm: { items: [{ price: 'price_pro_monthly', quantity: 1 }] } });
      const bad = await billing.createPortal({ flow: 'subscription_pause' as never }).then(() => null, (e: unknown) => e);
      expect(bad).toBeInstanceOf(BillingError);
      expect(bad).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
      await expect(billing.createPortal({ flow: 'subscription_update_confirm', quantity: '2' as never })).rejects.toThrow(/quantity must be a number/);
    } finally {
      await app.close();
    }
  });

  // Last: the portal configurations made here apply to every later session of the double.
  it('a flow runs in the portal configuration npm run plans -- push keeps, not the account\'s default one', async () => {
    // The account's default configuration (the Dashboard's) offers no plan changes.
    const dashboard = await s.stripe.billingPortal.configurations.create({ features: { subscription_update: { enabled: false } } });
    expect(dashboard.is_default).toBe(true);
    await syncCatalogue(s.stripe, config().catalogue, true);
    stack.setEnv({}); // a new instance: it looks the configuration up afresh
    const { token } = await checkedOut(s);
    const res = await call(portal, 'POST', '/api/stripe/portal', { token, body: { flow: 'subscription_update_confirm', priceId: 'pro_monthly' } });
    expect(res.status, res.text).toBe(200);
    const ours = (await s.stripe.billingPortal.configurations.list()).data.find((c) => c.metadata?.['catalogue'] === 'billing-functions')!;
    expect(sessionOf(res.body.url).configuration).toBe(ours.id);
    // Without a flow, the portal opens as before, in the default configuration.
    const plain = await call(portal, 'POST', '/api/stripe/portal', { token });
    expect(sessionOf(plain.body.url).configuration).toBe(dashboard.id);
  });

  it('the page shows no script errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
