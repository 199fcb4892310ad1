/**
 * Sends one report batch to Stripe as a meter event and says what became of it.
 *
 * Stripe facts this relies on (docs.stripe.com, "Record usage for billing with the API"
 * and the meter event API reference):
 * - `identifier` is unique within a rolling period of at least 24 hours; a second event
 *   with the same identifier is refused with a 400 invalid_request_error "An event already
 *   exists with identifier ...". We send the same identifier on every re-send, so that
 *   refusal means Stripe already has this batch: it counts as delivered.
 * - `timestamp` must be within the past 35 calendar days and at most 5 minutes ahead.
 * - payload values are strings; the value must be a whole number.
 * - 429 (1,000 calls/s in live mode, the basic 25/s in test mode, one concurrent call per
 *   customer per meter) and 5xx are to be retried with exponential backoff and jitter.
 *   stripe-node does not retry a rate-limit 429 (no `Stripe-Should-Retry: true`), so we do;
 *   the reporter also paces itself below the limit (meterEventPace).
 */
import type { Stripe } from '../stripe.ts';
import type { UsageBatch } from '../store/types.ts';

/** Stripe accepts meter events up to 35 calendar days old and 5 minutes ahead (clock drift). */
export const MAX_AGE_SECONDS = 35 * 86_400;
export const MAX_AHEAD_SECONDS = 5 * 60;

/**
 * Calls per second the reporter allows itself: 80 % of Stripe's meter event limit for the
 * key's mode (live: 1,000/s of its own; test: the basic 25 writes/s, shared with every other
 * write), leaving room for Stripe's one-second windows not being ours and for other callers.
 */
export const METER_EVENT_PACE = { live: 800, test: 20 } as const;

export function meterEventPace(secretKey: string): number {
  return /^(sk|rk)_live_/.test(secretKey) ? METER_EVENT_PACE.live : METER_EVENT_PACE.test;
}

export type SendOutcome =
  | { kind: 'accepted' }
  /** Stripe already had this identifier: an earlier send got through. */
  | { kind: 'duplicate' }
  /** Stripe was unreachable, overloaded or failing: keep the batch and try later. */
  | { kind: 'transient'; error: string }
  /** Our credentials or permissions: no batch is at fault, so none is failed. */
  | { kind: 'config'; error: string }
  /** Stripe refused this batch for good (e.g. unknown customer, too old). */
  | { kind: 'permanent'; error: string };

export interface SendOptions {
  eventName: string;
  /** Tries per batch within one run, before it is left for a later run. */
  attempts: number;
  /** First backoff between tries; doubles each time, with jitter. */
  retryBaseMs: number;
  /** Counts every HTTP call made. */
  onCall?: () => void;
  /** Awaited before every call (the run's pacer). */
  pace?: () => Promise<void>;
}

interface StripeErrorLike {
  type?: string;
  statusCode?: number;
  message?: string;
  headers?: Record<string, string>;
}

const TRANSIENT_TYPES = new Set(['StripeConnectionError', 'StripeRateLimitError', 'StripeAPIError']);
const CONFIG_TYPES = new Set(['StripeAuthenticationError', 'StripePermissionError']);

export function classify(err: unknown): SendOutcome {
  const e = (err ?? {}) as StripeErrorLike;
  const status = e.statusCode ?? 0;
  const what = `${e.type ?? (err instanceof Error ? err.name : 'error')}${status ? ` ${status}` : ''}: ${e.message ?? ''}`.slice(0, 300);
  if (status === 400 && /already exists/i.test(e.message ?? '') && /identifier/i.test(e.message ?? '')) return { kind: 'duplicate' };
  if (CONFIG_TYPES.has(e.type ?? '') || status === 401 || status === 403) return { kind: 'config', error: what };
  if (TRANSIENT_TYPES.has(e.type ?? '') || status === 409 || status === 429 || status >= 500) return { kind: 'transient', error: what };
  if (e.type === 'StripeInvalidRequestError' || (status >= 400 && status < 500)) return { kind: 'permanent', error: what };
  // Not an answer from Stripe at all (a network failure the SDK did not wrap): try later.
  return { kind: 'transient', error: what };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function backoffMs(attempt: number, baseMs: number, err: unknown): number {
  // Stripe may say how long to wait; otherwise exponential with full jitter.
  const retryAfter = Number((err as StripeErrorLike | null)?.headers?.['retry-after']);
  if (Number.isFinite(retryAfter) && retryAfter > 0) return Math.min(retryAfter * 1000, 10_000);
  const cap = baseMs * 2 ** attempt;
  return cap / 2 + Math.random() * (cap / 2);
}

export function meterEventParams(batch: UsageBatch, eventName: string): Stripe.Billing.MeterEventCreateParams {
  return {
    event_name: eventName,
    identifier: batch.identifier,
    timestamp: batch.event_timestamp,
    payload: { stripe_customer_id: batch.customer_id, value: String(batch.quantity) },
  };
}

export async function sendBatch(stripe: Stripe, batch: UsageBatch, opts: SendOptions): Promise<SendOutcome> {
  if (batch.event_timestamp < Date.now() / 1000 - MAX_AGE_SECONDS) {
    return { kind: 'permanent', error: 'usage is older than the 35 days Stripe accepts' };
  }
  const params = meterEventParams(batch, opts.eventName);
  for (let attempt = 0; ; attempt++) {
    try {
      await opts.pace?.();
      opts.onCall?.();
      // Our own retries (below) cover 429 too, which the SDK does not retry.
      await stripe.billing.meterEvents.create(params, { maxNetworkRetries: 0 });
      return { kind: 'accepted' };
    } catch (err) {
      const outcome = classify(err);
      if (outcome.kind !== 'transient' || attempt + 1 >= opts.attempts) return outcome;
      await sleep(backoffMs(attempt, opts.retryBaseMs, err));
    }
  }
}
