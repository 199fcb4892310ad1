/**
 * Accounts the benchmarks use, made through the real handlers (in this process) and the
 * Stripe double's actions, with events posted to the webhook handler as Stripe would:
 * - `subscribed`: a user with an active subscription (GET subscription/usage, portal);
 * - `customer`: a user whose Stripe customer exists but who has no subscription (checkout
 *   for a known customer: the first checkout made the customer, later ones reuse it).
 */
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import checkout from '../../functions/checkout.ts';
import subscription from '../../functions/subscription.ts';
import webhook from '../../functions/webhook.ts';
import { checkoutSessionIdOf, type StripeDouble } from '../../dev/stripe-double/index.ts';
import type { Handler } from '../../shared/endpoint.ts';
import { SERVICE_KEY, WEBHOOK_SECRET } from './services.ts';

export const uid = (prefix: string) => `${prefix}_${randomBytes(5).toString('hex')}`;

export interface Called {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the wire
  text: string;
}

/** Calls a handler as the platform does: a real Request, the real handler. */
export async function call(
  handler: Handler,
  method: string,
  path: string,
  opts: { token?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Called> {
  const headers = new Headers(opts.headers);
  if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
  if (opts.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  const res = await handler(new Request(`http://localhost:8888${path}`, { method, headers, body: opts.body }), {});
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

export const must = (what: string, r: Called, status = 200): Called => {
  if (r.status !== status) throw new Error(`${what}: expected ${status}, got ${r.status} ${r.text.slice(0, 300)}`);
  return r;
};

/** As Stripe sends events (and the double delivers them): pretty-printed, two spaces. */
const serializeEvent = (e: Stripe.Event) => JSON.stringify(e, null, 2);

/** The headers and body Stripe would POST for `event`, signed now. */
export function signedDelivery(double: StripeDouble, event: Stripe.Event): { body: string; headers: Record<string, string> } {
  const body = serializeEvent(event);
  return { body, headers: { 'stripe-signature': double.sign(body, WEBHOOK_SECRET), 'content-type': 'application/json; charset=utf-8' } };
}

export const postEvent = (double: StripeDouble, event: Stripe.Event) =>
  call(webhook, 'POST', '/api/stripe/webhook', signedDelivery(double, event));

/** A user who checked out (events made but not delivered) and the events. */
export async function checkedOut(double: StripeDouble, token: string): Promise<{ sub: string; customer: string; events: Stripe.Event[] }> {
  const res = must('checkout', await call(checkout, 'POST', '/api/stripe/checkout', { token, body: '{}' }));
  const done = await double.actions.completeCheckout(checkoutSessionIdOf(res.body.url), { deliver: false });
  return { sub: done.subscription.id, customer: done.customer.id, events: done.events };
}

export interface Fixtures {
  subscribed: { user: string; account: string; sub: string; customer: string };
  customer: { user: string; account: string };
  org: { id: string };
  /** A customer.subscription.updated event for `subscribed`'s subscription: a Stripe fetch when applied. */
  webhookTemplate: Stripe.Event;
  /** A fresh event each call (new id), from the template. */
  webhookEvent(): Stripe.Event;
  /** A POST usage body of `n` fresh records for `subscribed`. */
  usageBody(n?: number): string;
  serviceHeaders: Record<string, string>;
}

/**
 * Makes the accounts. The process environment must point the handlers at the services
 * (Services.applyEnv) and the tokens must match it (`token`).
 */
export async function createFixtures(double: StripeDouble, token: (claims: { sub: string }) => Promise<string>): Promise<Fixtures> {
  const subscribedUser = uid('bench_sub');
  const t1 = await token({ sub: subscribedUser });
  const done = await checkedOut(double, t1);
  for (const e of done.events) must(`webhook ${e.type}`, await postEvent(double, e));
  const state = must('subscription', await call(subscription, 'GET', '/api/stripe/subscription', { token: t1 }));
  if (state.body.state !== 'active') throw new Error(`fixture: expected an active subscription, got ${state.text}`);

  const customerUser = uid('bench_cus');
  must('checkout (new customer)', await call(checkout, 'POST', '/api/stripe/checkout', { token: await token({ sub: customerUser }), body: '{}' }));

  const template = done.events.find((e) => e.type === 'customer.subscription.updated') ?? done.events.find((e) => e.type === 'customer.subscription.created');
  if (!template) throw new Error('fixture: no subscription event to replay');
  let n = 0;
  const runId = randomBytes(3).toString('hex');
  let usageSeq = 0;
  return {
    subscribed: { user: subscribedUser, account: `user:${subscribedUser}`, sub: done.sub, customer: done.customer },
    customer: { user: customerUser, account: `user:${customerUser}` },
    org: { id: uid('bench_org') },
    webhookTemplate: template,
    webhookEvent: () => ({ ...template, id: `evt_bench_${runId}_${++n}` }),
    usageBody: (count = 100) => {
      const now = Math.floor(Date.now() / 1000);
      const records = Array.from({ length: count }, (_, i) => ({
        accountId: `user:${subscribedUser}`,
        quantity: 1 + (i % 3),
        idempotencyKey: `bench-${runId}-${++usageSeq}`,
        timestamp: now - i,
      }));
      return JSON.stringify({ records });
    },
    serviceHeaders: { authorization: `Bearer ${SERVICE_KEY}` },
  };
}
