/**
 * The Stripe client, created once per warm process. Only functions that call Stripe import
 * this file, so the others never load the SDK. STRIPE_API_BASE points it at the local
 * Stripe double (refused in production by config).
 */
import { createHash } from 'node:crypto';
import Stripe from 'stripe';
import { required, type Config } from './config.ts';
import { agentFor, openAtFirstRequest, parkConnection } from './preconnect.ts';

export type { Stripe };

/** The API version stripe-node pins: what our code reads, and what webhook events must be formatted in. */
export const STRIPE_API_VERSION: string = Stripe.API_VERSION;

let cached: { key: string; client: Stripe } | undefined;

const originOf = (cfg: Config) => cfg.STRIPE_API_BASE ?? 'https://api.stripe.com';

// Functions that call Stripe open its connection at the start of a cold instance's first
// request, beside the others (shared/preconnect.ts): the call then costs one round trip.
openAtFirstRequest((cfg) => {
  if (cfg.STRIPE_SECRET_KEY) parkConnection(originOf(cfg));
});

export function stripeClient(cfg: Config): Stripe {
  const apiKey = required('STRIPE_SECRET_KEY');
  const key = `${apiKey}|${cfg.STRIPE_API_BASE ?? ''}|${cfg.STRIPE_TIMEOUT_MS}|${cfg.STRIPE_MAX_RETRIES}`;
  if (cached?.key === key) return cached.client;
  const base = cfg.STRIPE_API_BASE ? new URL(cfg.STRIPE_API_BASE) : undefined;
  const client = new Stripe(apiKey, {
    // The SDK retries what Stripe marks retryable (with idempotency keys on POSTs); the
    // timeout keeps a slow Stripe well inside the function's own time limit.
    maxNetworkRetries: cfg.STRIPE_MAX_RETRIES,
    timeout: cfg.STRIPE_TIMEOUT_MS,
    telemetry: false,
    appInfo: { name: 'stripe-billing-functions' },
    // Keep-alive, and its first request takes the connection opened at the start of a cold request.
    httpAgent: agentFor(originOf(cfg)),
    ...(base
      ? {
          host: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          protocol: base.protocol === 'https:' ? ('https' as const) : ('http' as const),
        }
      : {}),
  });
  cached = { key, client };
  return client;
}

/**
 * A Stripe idempotency key from what identifies the operation. Hashed, because account
 * ids may hold any Unicode and a key travels in an HTTP header (ASCII, at most 255).
 */
export function idempotencyKey(operation: string, ...parts: string[]): string {
  return `billing-${operation}-${createHash('sha256').update(parts.join('\n')).digest('hex')}`;
}
