/** Shared setup for the Stripe double's tests: the double, a real stripe-node client, a webhook receiver. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { startStripeDouble, type StripeDouble, type StripeDoubleOptions } from '../../dev/stripe-double/index.ts';

export const SECRET = 'whsec_test_double_suite';

export function client(double: StripeDouble, opts: { maxNetworkRetries?: number; timeout?: number } = {}): Stripe {
  return new Stripe(double.apiKey, {
    ...double.clientConfig,
    maxNetworkRetries: opts.maxNetworkRetries ?? 0,
    ...(opts.timeout !== undefined ? { timeout: opts.timeout } : {}),
    telemetry: false,
  });
}

export async function setup(opts: StripeDoubleOptions = {}): Promise<{ double: StripeDouble; stripe: Stripe }> {
  const double = await startStripeDouble({ port: 0, ...opts });
  return { double, stripe: client(double) };
}

export interface Received {
  event: Stripe.Event;
  raw: string;
  signature: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Signature failures (constructEvent threw). */
  rejected: string[];
  /** Status to answer with (default 200). */
  status: number;
  types(): string[];
  close(): Promise<void>;
}

/** A tiny webhook endpoint that verifies every delivery with stripe-node's constructEvent. */
export async function startReceiver(secret = SECRET): Promise<Receiver> {
  const verifier = new Stripe('sk_test_verifier');
  const receiver: Receiver = {
    url: '',
    received: [],
    rejected: [],
    status: 200,
    types: () => receiver.received.map((r) => r.event.type),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const signature = String(req.headers['stripe-signature'] ?? '');
      try {
        const event = verifier.webhooks.constructEvent(raw, signature, secret);
        receiver.received.push({ event, raw, signature });
        res.writeHead(receiver.status, { 'Content-Type': 'application/json' }).end('{"received":true}');
      } catch (err) {
        receiver.rejected.push(err instanceof Error ? err.message : String(err));
        res.writeHead(400).end('bad signature');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return receiver;
}

/** Expects `promise` to reject with a stripe-node error; returns it for further checks. */
export async function stripeError(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

/** Creates a customer and completes a Checkout Session for `price`; returns what the action returned. */
export async function subscribe(
  double: StripeDouble,
  stripe: Stripe,
  opts: { price?: string; trialDays?: number; paymentFails?: boolean; metered?: boolean; deliver?: boolean } = {},
) {
  const customer = await stripe.customers.create({ email: `c${Math.random().toString(36).slice(2, 8)}@example.com` });
  const lineItems: Stripe.Checkout.SessionCreateParams.LineItem[] = [{ price: opts.price ?? 'price_basic_monthly', quantity: 1 }];
  if (opts.metered) lineItems.push({ price: 'price_usage_metered' });
  const session = await stripe.checkout.sessions.create({
    mode: 'subscription',
    customer: customer.id,
    line_items: lineItems,
    success_url: 'https://app.example.com/ok',
    subscription_data: { metadata: { account_id: 'acct_1' } },
  });
  return double.actions.completeCheckout(session.id, {
    ...(opts.trialDays !== undefined ? { trialDays: opts.trialDays } : {}),
    ...(opts.paymentFails !== undefined ? { paymentFails: opts.paymentFails } : {}),
    ...(opts.deliver !== undefined ? { deliver: opts.deliver } : {}),
  });
}

/** The double's clock reads whole seconds of wall time: times set "now" fall between a reading before and one after. */
export function clockSpan(double: StripeDouble): { from: number; contains(t: number | null | undefined): boolean } {
  const from = double.clock.now();
  return { from, contains: (t) => typeof t === 'number' && t >= from && t <= double.clock.now() };
}
