/**
 * The Stripe side of a test: the local Stripe double, the app's environment pointing at
 * it, and a stripe-node client for the test to read what the app created.
 */
import Stripe from 'stripe';
import { startStripeDouble } from '../../dev/stripe-double/index.ts';
import webhook from '../../functions/webhook.ts';
import { serve } from '../../dev/serve.ts';
import { startStack, type Stack } from './stack.ts';

export const WEBHOOK_SECRET = 'whsec_test_secret_for_the_suite';

export async function startStripe(stack: Stack, opts: { deliver?: boolean } = {}) {
  const app = await serve({ '/api/stripe/webhook': webhook, '/api/billing/webhook': webhook });
  const double = await startStripeDouble({
    port: 0,
    ...(opts.deliver === false ? {} : { webhook: { url: `${app.url}/api/stripe/webhook`, secret: WEBHOOK_SECRET } }),
  });
  stack.setEnv({
    STRIPE_SECRET_KEY: 'sk_test_suite',
    STRIPE_API_BASE: double.url,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_PRICE_ID: 'price_basic_monthly',
    STRIPE_PRICE_IDS: 'price_pro_monthly',
    STRIPE_MAX_RETRIES: '0',
  });
  const stripe = new Stripe('sk_test_suite', { ...double.clientConfig, maxNetworkRetries: 0 });
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
