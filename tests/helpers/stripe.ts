/**
 * The Stripe side of a test: the local Stripe double, the app's environment pointing at
 * it, and a stripe-node client for the test to read what the app created.
 */
import Stripe from 'stripe';
import { expect } from 'vitest';
import { checkoutSessionIdOf, startStripeDouble } from '../../dev/stripe-double/index.ts';
import checkout, { DOUBLE_CLICK_WINDOW_MS } from '../../functions/checkout.ts';
import webhook from '../../functions/webhook.ts';
import { serve } from '../../dev/serve.ts';
import { call, startStack, tokenFor, uid, type Call, type Stack } from './stack.ts';

export const WEBHOOK_SECRET = 'whsec_test_secret_for_the_suite';
/** The app's STRIPE_SECRET_KEY, the one key the suite's double accepts. */
export const STRIPE_KEY = 'sk_test_suite';

/**
 * Checkout's idempotency key changes when its double-click window ends: a test that expects
 * a repeat to get the same session first waits, if need be, until the next `marginMs` stay
 * inside one window (real time, nothing faked).
 */
export async function insideOneCheckoutWindow(marginMs = 5_000): Promise<void> {
  const left = DOUBLE_CLICK_WINDOW_MS - (Date.now() % DOUBLE_CLICK_WINDOW_MS);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 10));
}

export async function startStripe(stack: Stack, opts: { deliver?: boolean } = {}) {
  const app = await serve({ '/api/stripe/webhook': webhook, '/api/billing/webhook': webhook });
  const double = await startStripeDouble({
    port: 0,
    apiKey: STRIPE_KEY,
    ...(opts.deliver === false ? {} : { webhook: { url: `${app.url}/api/stripe/webhook`, secret: WEBHOOK_SECRET } }),
  });
  stack.setEnv({
    STRIPE_SECRET_KEY: STRIPE_KEY,
    STRIPE_API_BASE: double.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_PRICE_ID: 'price_basic_monthly',
    STRIPE_MAX_RETRIES: '0',
  });
  const stripe = new Stripe(STRIPE_KEY, { ...double.clientConfig, maxNetworkRetries: 0 });
  return {
    double,
    stripe,
    appUrl: app.url,
    async stop() {
      await double.close();
      await app.close();
    },
  };
}

export type StripeSide = Awaited<ReturnType<typeof startStripe>>;

/** The usual test file: its own database, Redis and Stripe double, stopped together. */
export async function startStripeStack(env: Record<string, string | undefined> = {}) {
  const stack = await startStack(env);
  const s = await startStripe(stack);
  return { stack, s, stop: async () => { await s.stop(); await stack.stop(); } };
}

/** Posts an event to the webhook handler, signed as Stripe signs it (with `secret`, the suite's by default). */
export function signedWebhook(s: StripeSide, event: Stripe.Event, path = '/api/stripe/webhook', secret = WEBHOOK_SECRET): Promise<Call> {
  const payload = JSON.stringify(event, null, 2);
  return call(webhook, 'POST', path, { body: payload, headers: { 'stripe-signature': s.double.sign(payload, secret) } });
}

/**
 * A user (or, with `org`, an organization's owner) who went through checkout. With
 * `deliver: false` the double keeps the events for the test to send; `trialDays` and
 * `paymentFails` are passed to the double's completeCheckout.
 */
export async function checkedOut(s: StripeSide, opts: { deliver?: boolean; org?: string; trialDays?: number; paymentFails?: boolean } = {}) {
  const user = uid('u');
  const token = await tokenFor({ sub: user, ...(opts.org ? { org: opts.org, role: 'owner' } : {}) });
  const res = await call(checkout, 'POST', '/api/stripe/checkout', { token });
  expect(res.status, res.text).toBe(200);
  const done = await s.double.actions.completeCheckout(checkoutSessionIdOf(res.body.url), {
    deliver: opts.deliver ?? true,
    ...(opts.trialDays !== undefined ? { trialDays: opts.trialDays } : {}),
    ...(opts.paymentFails ? { paymentFails: true } : {}),
  });
  return {
    user,
    token,
    account: opts.org ? `org:${opts.org}` : `user:${user}`,
    done,
    customer: done.customer.id,
    sub: done.subscription.id,
    eventOf: (type: string) => done.events.find((e) => e.type === type)!,
  };
}

/** Our stored rows against the double's subscriptions, for the given customers (all the double has when omitted). */
export async function expectSubscriptionsMatchStripe(stack: Stack, s: StripeSide, customers?: string[]): Promise<void> {
  const wanted = customers ? new Set(customers) : null;
  const theirs = [...s.double.state.subscriptions.values()].filter((x) => !wanted || wanted.has(x.customer as string));
  const ids = theirs.map((x) => x.id);
  const ours = await stack.sql<{ id: string; customer_id: string; status: string; cancel_at_period_end: boolean; current_period_end: Date | null; price_id: string | null }[]>`
    select id, customer_id, status, cancel_at_period_end, current_period_end, price_id from billing_subscriptions
    where id = any(${ids}) or customer_id = any(${customers ?? theirs.map((x) => x.customer as string)})`;
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
  expect(ours.map((r) => ({ id: r.id, customer: r.customer_id, status: r.status, cancel: r.cancel_at_period_end, end: r.current_period_end?.getTime() ?? null, price: r.price_id })).sort(byId))
    .toEqual(theirs.map((x) => ({
      id: x.id,
      customer: x.customer as string,
      status: x.status,
      cancel: x.cancel_at_period_end,
      end: (x.items.data[0]?.current_period_end ?? 0) * 1000,
      price: x.items.data[0]?.price.id ?? null,
    })).sort(byId));
}
