/**
 * Stripe's request rate limits, off unless asked for. What Stripe documents
 * (docs.stripe.com/rate-limits; "Record usage for billing with the API" for meter events):
 * - the basic limiter, per account and per second: live mode 100 reads and 100 writes,
 *   test mode (sandbox) 25 and 25;
 * - each API endpoint (a method and a route: GET /v1/subscriptions/:id is one endpoint
 *   whatever the id) 25 requests per second unless the docs give it its own limit; these
 *   count against the basic limits too;
 * - POST /v1/billing/meter_events in live mode: 1,000 calls per second, outside the basic
 *   limits; in test mode it counts toward the basic limits like any write.
 * Over a limit Stripe answers 429 `{"error":{"type":"invalid_request_error","code":"rate_limit",...}}`
 * (stripe-node: StripeRateLimitError), with no `Stripe-Should-Retry: true`, so stripe-node
 * does not retry it whatever maxNetworkRetries says (it retries only lock-timeout 429s that
 * carry that header). A refused call changes nothing and is not counted.
 *
 * Windows are whole seconds of the double's clock, so `clock.advance(1)` opens a fresh one.
 * Not modelled: the concurrency limiter, one concurrent meter event per customer and meter.
 */
import type { Clock } from './clock.ts';
import { faultError, type ApiError } from './errors.ts';

export interface RateLimitSpec {
  /** GET requests per second, all endpoints together. */
  read: number;
  /** POST and DELETE requests per second, all endpoints together. */
  write: number;
  /** Requests per second to any one endpoint without a limit of its own (omitted: none). */
  endpoint?: number;
  /** POST /v1/billing/meter_events per second outside the basic limits, or 'basic' (counts as a write; the default). */
  meterEvents?: number | 'basic';
}

export type RateLimitMode = 'test' | 'live';
export type RateLimitSetting = RateLimitMode | RateLimitSpec;

export const RATE_LIMITS: Record<RateLimitMode, RateLimitSpec> = {
  live: { read: 100, write: 100, endpoint: 25, meterEvents: 1000 },
  test: { read: 25, write: 25, endpoint: 25, meterEvents: 'basic' },
};

const METER_EVENTS = 'POST /v1/billing/meter_events';

/** One second of the double's clock: what was let through, and how many were refused. */
export interface RateLimitWindow {
  second: number;
  read: number;
  write: number;
  meterEvents: number;
  refused: number;
  /** Requests let through per endpoint (`GET /v1/subscriptions/:id`). */
  endpoints: Record<string, number>;
}

export interface RateLimitStats {
  /** Requests refused with a 429 since the limits were (re)set. */
  refused: number;
  /** The most let through in any one second, per kind (meter events apart from writes). */
  peak: { read: number; write: number; meterEvents: number; endpoint: number };
  /** The last 600 seconds that saw a request, oldest first. */
  windows: RateLimitWindow[];
}

const KEEP_WINDOWS = 600;

export function resolveRateLimits(setting: RateLimitSetting): RateLimitSpec {
  const spec = typeof setting === 'string' ? RATE_LIMITS[setting] : setting;
  if (!spec) throw new RangeError(`rate limits: unknown mode ${String(setting)} (test or live)`);
  const positive = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  if (!positive(spec.read) || !positive(spec.write)) throw new RangeError('rate limits: read and write must be positive integers');
  if (spec.endpoint !== undefined && !positive(spec.endpoint)) throw new RangeError('rate limits: endpoint must be a positive integer');
  if (spec.meterEvents !== undefined && spec.meterEvents !== 'basic' && !positive(spec.meterEvents)) {
    throw new RangeError("rate limits: meterEvents must be a positive integer or 'basic'");
  }
  return { ...spec };
}

export class RateLimiter {
  private spec: RateLimitSpec | null = null;
  private windows: RateLimitWindow[] = [];
  private refusedTotal = 0;

  constructor(private readonly clock: Pick<Clock, 'now'>) {}

  /** Turns the limits on (a mode or explicit numbers) or off (null); counting starts afresh. */
  set(setting: RateLimitSetting | null): void {
    this.spec = setting === null ? null : resolveRateLimits(setting);
    this.windows = [];
    this.refusedTotal = 0;
  }

  get limits(): RateLimitSpec | null {
    return this.spec && { ...this.spec };
  }

  /**
   * Counts one authenticated /v1 call to `route` (the router's pattern, e.g.
   * /v1/subscriptions/:id), or returns the 429 Stripe would answer instead.
   */
  admit(method: string, route: string): ApiError | null {
    const spec = this.spec;
    if (!spec) return null;
    const w = this.window();
    const endpoint = `${method} ${route}`;
    const meterApart = endpoint === METER_EVENTS && typeof spec.meterEvents === 'number';
    const kind = method === 'GET' ? 'read' : 'write';
    const over = meterApart
      ? w.meterEvents >= (spec.meterEvents as number)
      : w[kind] >= spec[kind] || (spec.endpoint !== undefined && (w.endpoints[endpoint] ?? 0) >= spec.endpoint);
    if (over) {
      w.refused++;
      this.refusedTotal++;
      return faultError(429);
    }
    if (meterApart) w.meterEvents++;
    else {
      w[kind]++;
      if (endpoint === METER_EVENTS) w.meterEvents++;
      w.endpoints[endpoint] = (w.endpoints[endpoint] ?? 0) + 1;
    }
    return null;
  }

  stats(): RateLimitStats {
    const peak = { read: 0, write: 0, meterEvents: 0, endpoint: 0 };
    for (const w of this.windows) {
      peak.read = Math.max(peak.read, w.read);
      peak.write = Math.max(peak.write, w.write);
      peak.meterEvents = Math.max(peak.meterEvents, w.meterEvents);
      peak.endpoint = Math.max(peak.endpoint, ...Object.values(w.endpoints));
    }
    return { refused: this.refusedTotal, peak, windows: this.windows.map((w) => ({ ...w, endpoints: { ...w.endpoints } })) };
  }

  private window(): RateLimitWindow {
    const second = this.clock.now();
    const last = this.windows[this.windows.length - 1];
    if (last?.second === second) return last;
    const fresh: RateLimitWindow = { second, read: 0, write: 0, meterEvents: 0, refused: 0, endpoints: {} };
    this.windows.push(fresh);
    if (this.windows.length > KEEP_WINDOWS) this.windows.shift();
    return fresh;
  }
}

/** GET and POST /_double/rate-limits: `{"mode":"test"|"live"|"off"}` or `{"read","write","endpoint"?,"meterEvents"?}`. */
export function rateLimitControl(limiter: RateLimiter, method: string, rawBody: string): { status: number; body: unknown } {
  const view = () => ({ limits: limiter.limits, ...limiter.stats() });
  if (method === 'GET') return { status: 200, body: view() };
  if (method !== 'POST') return { status: 405, body: { error: { message: 'GET or POST /_double/rate-limits' } } };
  try {
    const body: unknown = rawBody.trim() ? JSON.parse(rawBody) : {};
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new RangeError('body must be a JSON object');
    const b = body as Record<string, unknown>;
    if (b['mode'] === 'off') limiter.set(null);
    else if (b['mode'] === 'test' || b['mode'] === 'live') limiter.set(b['mode']);
    else if (b['mode'] !== undefined) throw new RangeError('mode must be test, live or off');
    else {
      const spec: RateLimitSpec = { read: b['read'] as number, write: b['write'] as number };
      if (b['endpoint'] !== undefined) spec.endpoint = b['endpoint'] as number;
      if (b['meterEvents'] !== undefined) spec.meterEvents = b['meterEvents'] as number | 'basic';
      limiter.set(spec); // validated there
    }
    return { status: 200, body: view() };
  } catch (err) {
    if (err instanceof RangeError || err instanceof SyntaxError) return { status: 400, body: { error: { message: err.message } } };
    throw err;
  }
}
