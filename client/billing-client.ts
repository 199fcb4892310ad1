/**
 * The browser client of the billing functions: typed, dependency-free, one ES module.
 *
 *   import { createBillingClient, BillingError } from './billing-client.js';
 *   const billing = createBillingClient({ getToken: () => session.access_token });
 *   const { state, hasAccess } = await billing.getSubscription();
 *   await billing.redirectToCheckout({ priceId: 'price_pro_monthly' });
 *
 * It speaks the envelope dialect of `/api/billing/*` ({ success, data, error }) and also
 * reads the flat bodies of `/api/stripe/*`, so `baseUrl` may point at either. Every failure,
 * including a network failure or an answer that is not JSON, is thrown as a BillingError.
 */

/** Access state of the billing account (see the README's GET subscription). */
export type AccessState = 'none' | 'trialing' | 'active' | 'past_due' | 'canceling' | 'ended';

export interface Subscription {
  id: string;
  /** Stripe's status: active, trialing, past_due, canceled, incomplete, ... */
  status: string;
  priceId: string | null;
  productId: string | null;
  /** The plan name configured for the price (PLAN_NAMES), else the price id. */
  plan: string | null;
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: string | null;
  trialEnd: string | null;
  pastDueSince: string | null;
  createdAt: string | null;
}

export interface SubscriptionStatus {
  accountId: string;
  accountType: 'user' | 'organization';
  state: AccessState;
  hasAccess: boolean;
  /** ISO time access lasts until, when it is bounded. */
  accessUntil: string | null;
  customerId: string | null;
  subscription: Subscription | null;
}

export interface UsagePeriod {
  start: string;
  end: string;
  /** The subscription's current period, or the calendar month (UTC) when there is none. */
  source: 'subscription' | 'calendar_month';
}

export interface Usage {
  accountId: string;
  accountType: 'user' | 'organization';
  customerId: string | null;
  period: UsagePeriod;
  plan: { priceId: string | null; name: string | null } | null;
  /** Units recorded in the period. */
  recorded: number;
  /** Of those, accepted by Stripe. */
  reported: number;
  /** Recorded but not yet accepted by Stripe. */
  pending: number;
  failed: number;
  /** Units the plan includes before overage. */
  included: number;
  overage: number;
}

export interface CheckoutParams {
  /** A price the server allows (STRIPE_PRICE_ID or STRIPE_PRICE_IDS); default STRIPE_PRICE_ID. */
  priceId?: string;
  /** Path or URL on the site's origin to return to after paying. */
  successUrl?: string;
  /** Path or URL on the site's origin to return to when the customer backs out. */
  cancelUrl?: string;
}

export interface PortalParams {
  returnUrl?: string;
}

export interface CheckoutSession {
  url: string;
  sessionId?: string;
}

export interface PortalSession {
  url: string;
}

/** The API's codes, plus the two the client adds for failures that have no API answer. */
export type BillingErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'INTERNAL_ERROR'
  | 'SERVICE_UNAVAILABLE'
  /** The request never got an answer (offline, DNS, CORS refusal, timeout). */
  | 'NETWORK_ERROR'
  /** An answer that is not the API's JSON (a proxy's HTML error page, say). */
  | 'INVALID_RESPONSE'
  | (string & {});

export class BillingError extends Error {
  override readonly name = 'BillingError';
  readonly code: BillingErrorCode;
  /** HTTP status; 0 when there was no answer. */
  readonly status: number;
  /** The server's request id (body or X-Request-Id), to quote when reporting a problem. */
  readonly requestId: string | null;
  /** Seconds to wait before retrying, from Retry-After (429, 503). */
  readonly retryAfter: number | null;
  /** Field problems of a 400, as the server lists them. */
  readonly details: unknown;

  constructor(init: { code: BillingErrorCode; message: string; status: number; requestId?: string | null; retryAfter?: number | null; details?: unknown; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId ?? null;
    this.retryAfter = init.retryAfter ?? null;
    this.details = init.details;
  }
}

/** What the redirect helpers need of `window.location`. */
export interface LocationLike {
  assign(url: string): void;
}

export interface BillingClientOptions {
  /** Where the functions answer, up to the endpoint name. Default `/api/billing` (same origin). */
  baseUrl?: string;
  /** The signed-in user's JWT (Supabase access token, ...), read before every call. */
  getToken: () => string | null | undefined | Promise<string | null | undefined>;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Give up on a call after this long (NETWORK_ERROR). Default 20 s: the functions stop at 10 s. */
  timeoutMs?: number;
}

export interface BillingClient {
  getSubscription(): Promise<SubscriptionStatus>;
  getUsage(): Promise<Usage>;
  createCheckout(params?: CheckoutParams): Promise<CheckoutSession>;
  createPortal(params?: PortalParams): Promise<PortalSession>;
  /** createCheckout, then sends the browser to the Checkout page. */
  redirectToCheckout(params?: CheckoutParams, location?: LocationLike): Promise<void>;
  /** createPortal, then sends the browser to the billing portal. */
  redirectToPortal(params?: PortalParams, location?: LocationLike): Promise<void>;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Retry-After is seconds or an HTTP date. */
function parseRetryAfter(value: string | null): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** The error of either dialect: envelope `{ error: { code, message, requestId } }`, flat `{ error, code, requestId }`. */
function errorFrom(body: unknown, res: Response): BillingError {
  const headerId = res.headers.get('x-request-id');
  const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
  const b = isObject(body) ? body : {};
  const e = isObject(b.error) ? b.error : b;
  const message = typeof e.message === 'string' ? e.message : typeof b.error === 'string' ? b.error : `Request failed with status ${res.status}`;
  return new BillingError({
    code: typeof e.code === 'string' ? e.code : res.status === 429 ? 'RATE_LIMITED' : 'INTERNAL_ERROR',
    message,
    status: res.status,
    requestId: typeof e.requestId === 'string' ? e.requestId : headerId,
    retryAfter,
    details: e.details,
  });
}

function locationOrFail(given: LocationLike | undefined): LocationLike {
  const loc = given ?? (globalThis as { location?: LocationLike }).location;
  if (!loc) throw new Error('redirect needs a location: pass one outside a browser');
  return loc;
}

export function createBillingClient(options: BillingClientOptions): BillingClient {
  const base = (options.baseUrl ?? '/api/billing').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 20_000;

  async function call<T>(method: 'GET' | 'POST', name: string, body?: object): Promise<T> {
    const doFetch = options.fetch ?? globalThis.fetch;
    const token = await options.getToken();
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body) headers['Content-Type'] = 'application/json';
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await doFetch(`${base}/${name}`, {
        method,
        headers,
        ...(body ? { body: JSON.stringify(body) } : {}),
        signal: abort.signal,
      });
      text = await res.text();
    } catch (cause) {
      const message = abort.signal.aborted ? `No answer from the billing API within ${timeoutMs} ms` : 'Could not reach the billing API';
      throw new BillingError({ code: 'NETWORK_ERROR', message, status: 0, cause });
    } finally {
      clearTimeout(timer);
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new BillingError({
        code: 'INVALID_RESPONSE',
        message: `The billing API answered ${res.status} with something other than JSON`,
        status: res.status,
        requestId: res.headers.get('x-request-id'),
        retryAfter: parseRetryAfter(res.headers.get('retry-after')),
      });
    }
    const envelope = isObject(parsed) && typeof parsed.success === 'boolean' ? parsed : null;
    if (!res.ok || envelope?.success === false) throw errorFrom(parsed, res);
    const data = envelope ? envelope.data : parsed;
    if (!isObject(data)) {
      throw new BillingError({ code: 'INVALID_RESPONSE', message: 'The billing API answered without data', status: res.status, requestId: res.headers.get('x-request-id') });
    }
    return data as T;
  }

  const createCheckout = (params: CheckoutParams = {}) => call<CheckoutSession>('POST', 'checkout', params);
  const createPortal = (params: PortalParams = {}) => call<PortalSession>('POST', 'portal', params);

  return {
    getSubscription: () => call<SubscriptionStatus>('GET', 'subscription'),
    getUsage: () => call<Usage>('GET', 'usage'),
    createCheckout,
    createPortal,
    async redirectToCheckout(params, location) {
      const loc = locationOrFail(location);
      loc.assign((await createCheckout(params)).url);
    },
    async redirectToPortal(params, location) {
      const loc = locationOrFail(location);
      loc.assign((await createPortal(params)).url);
    },
  };
}
