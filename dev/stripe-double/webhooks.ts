/** Webhook signing and delivery, exactly as Stripe does it. */
import { createHmac } from 'node:crypto';
import type Stripe from 'stripe';

export interface WebhookTarget {
  url: string;
  secret: string;
}

export interface DeliveryResult {
  eventId: string;
  type: string;
  url: string;
  /** HTTP status from the endpoint; 0 when it could not be reached. */
  status: number;
  error?: string;
  /** Start of the response body (up to 500 characters), for debugging. */
  responseBody?: string;
  /** Wall-clock time of the attempt (ms). */
  at: number;
}

/** `Stripe-Signature` header value: `t=<ts>,v1=<hex hmac-sha256(secret, "<ts>.<payload>")>`. */
export function signPayload(payload: string, secret: string, timestamp: number = Math.floor(Date.now() / 1000)): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${payload}`, 'utf8').digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

/** Stripe sends events pretty-printed with two spaces. */
export function serializeEvent(event: Stripe.Event): string {
  return JSON.stringify(event, null, 2);
}

export interface PostOptions {
  /** Signature timestamp (unix seconds); wall time by default, since receivers check its age. */
  timestamp?: number;
  /** Send this body instead of the serialized event (to test tampering). */
  payload?: string;
}

export async function postEvent(target: WebhookTarget, event: Stripe.Event, opts: PostOptions = {}): Promise<DeliveryResult> {
  const payload = opts.payload ?? serializeEvent(event);
  const at = Date.now();
  const base = { eventId: event.id, type: event.type, url: target.url, at };
  try {
    const res = await fetch(target.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-cache',
        'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'Stripe-Signature': signPayload(payload, target.secret, opts.timestamp),
      },
      body: payload,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text().catch(() => '');
    return { ...base, status: res.status, responseBody: text.slice(0, 500) };
  } catch (err) {
    return { ...base, status: 0, error: err instanceof Error ? err.message : String(err) };
  }
}
