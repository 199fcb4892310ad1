/**
 * The browser client of the billing functions: typed, dependency-free, one ES module.
 *
 *   import { createBillingClient, BillingError } from './billing-client.js';
 *   const billing = createBillingClient(); // token: see session-token.ts, or pass getToken
 *   const { state, hasAccess } = await billing.getSubscription();
 *   await billing.redirectToCheckout({ priceId: 'price_pro_monthly' });
 *
 * It speaks the envelope dialect of `/api/billing/*` ({ success, data, error }) and also
 * reads the flat bodies of `/api/stripe/*`, so `baseUrl` may point at either. Every failure,
 * including a network failure, an answer that is not JSON and a misuse of the client itself
 * (INVALID_ARGUMENT), is thrown as a BillingError.
 */
import { sessionToken } from './session-token.ts';

// GET plans: the catalogue as a pricing page needs it (built by shared/plans-view.ts).

/** A limit per billing period; `hard`: usage past it is refused, else billed as overage. */
export interface PlanLimit {
  limit: number;
  hard: boolean;
}

export interface PlanTrial {
  days: number;
  /** 'if_required': no card asked at checkout. */
  card: 'required' | 'if_required';
}

export interface PlanPrice {
  /** What checkout takes as `priceId`: the price's Stripe lookup key (the Stripe price id changes when an amount does). */
  id: string;
  interval: 'day' | 'week' | 'month' | 'year';
  intervalCount: number;
  currency: string;
  /** In the currency's smallest unit (cents). */
  unitAmount: number;
}

/** A plan sold per seat: the subscription's quantity is its number of seats. */
export interface PlanSeats {
  min: number;
  max: number;
}

export interface PublicPlan {
  key: string;
  name: string;
  description: string;
  /** Empty for the plan of accounts without a subscription. */
  prices: PlanPrice[];
  features: Record<string, boolean>;
  limits: Record<string, PlanLimit>;
  trial: PlanTrial | null;
  /** Per-seat plans: the seats one subscription may have (null: one subscription, quantity 1). */
  seats: PlanSeats | null;
}

export interface PlansResponse {
  plans: PublicPlan[];
  /** The limited feature whose overage is billed through Stripe's meter. */
  meteredFeature: string;
}

/** Access state of the billing account (see the README's GET subscription). */
export type AccessState = 'none' | 'trialing' | 'active' | 'past_due' | 'canceling' | 'ended';

export interface Subscription {
  id: string;
  /** Stripe's status: active, trialing, past_due, canceled, incomplete, ... */
  status: string;
  priceId: string | null;
  productId: string | null;
  /** The catalogue plan's name of the subscription's product, else the price id. */
  plan: string | null;
  currentPeriodStart: string | null;
  currentPeriodEnd: string | null;
  /** Seats, for a per-seat plan (else 1). */
  quantity: number;
  /** A change that takes effect later (a downgrade at the period's end); null when none is waiting. */
  pendingChange: PendingChange | null;
  cancelAtPeriodEnd: boolean;
  cancelAt: string | null;
  trialEnd: string | null;
  /** Trialing, and the trial ends within three days (when Stripe sends trial_will_end): ask for a card. */
  trialEndsSoon: boolean;
  pastDueSince: string | null;
  createdAt: string | null;
}

export interface PendingChange {
  /** The catalogue plan's name, else the price id. */
  plan: string | null;
  priceId: string | null;
  quantity: number;
  effectiveAt: string;
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
  /** The catalogue plan in force: the subscription's while it grants access, else the plan without prices (or null). */
  plan: { key: string; name: string } | null;
  /** The plan's boolean features. */
  features: Record<string, boolean>;
  /** The plan's limits per billing period. */
  limits: Record<string, PlanLimit>;
}

export interface UsagePeriod {
  start: string;
  end: string;
  /** The subscription's current period, or the calendar month (UTC) when there is none. */
  source: 'subscription' | 'subscription_estimated' | 'calendar_month';
}

/** A limited feature of the plan in the period (GET usage). */
export interface UsageLimit extends PlanLimit {
  used: number;
  /** What is left before the limit (0 once reached or passed). */
  remaining: number;
  /** When the period ends and usage starts from 0 again. */
  resetsAt: string;
}

/** Usage of a limited feature reached 80 % or 100 % of its limit in the period. */
export interface UsageAlert {
  feature: string;
  threshold: 80 | 100;
  /** Usage when the threshold was reached. */
  used: number;
  limit: number;
  /** When it was reached. */
  at: string;
}

/** Stripe's meter event summaries for the period (GET usage?source=stripe). */
export interface StripeUsage {
  meterId: string;
  customerId: string | null;
  /** The period widened to whole minutes, as Stripe's summaries require. */
  start: string;
  end: string;
  /** null when Stripe could not be read (see `error`). */
  aggregatedValue: number | null;
  error?: string;
}

export interface Usage {
  accountId: string;
  accountType: 'user' | 'organization';
  customerId: string | null;
  period: UsagePeriod;
  /**
   * The plan in force: the catalogue's (`key`), the subscription's price (`priceId`, null for
   * the plan without prices); `name` is the plan's name, else the price id. null: no plan.
   */
  plan: { key: string | null; name: string | null; priceId: string | null } | null;
  /** Units of the metered feature recorded in the period. */
  recorded: number;
  /** Of those, accepted by Stripe. */
  reported: number;
  /** Recorded but not yet accepted by Stripe. */
  pending: number;
  failed: number;
  /** The feature `recorded`, `included` and `overage` count (the one billed through Stripe's meter). */
  meteredFeature: string;
  /** Units of the metered feature the plan includes before overage (its limit). */
  included: number;
  overage: number;
  /** The plan's boolean features. */
  features: Record<string, boolean>;
  /** Each limited feature of the plan: limit, used, remaining, and when it resets. */
  limits: Record<string, UsageLimit>;
  /** The period's alerts, oldest first. */
  alerts: UsageAlert[];
  stripe?: StripeUsage;
}

/** What check(feature, amount) answers: may `amount` more be used now? Nothing is recorded. */
export interface UsageCheck {
  allowed: boolean;
  /** Left before the limit; null when the feature has no limit. */
  remaining: number | null;
  limit: number | null;
  hard: boolean;
}

/** POST usage's answer (server to server). */
export interface UsageRecorded {
  accepted: number;
  /** Records whose key was seen before: no-ops. */
  duplicates: Array<{ index: number; idempotencyKey: string }>;
  /** Records a hard limit refused: not recorded, their keys stay free. */
  refused: Array<{ index: number; idempotencyKey: string; feature: string; code: 'LIMIT_EXCEEDED' }>;
}

/**
 * check()'s answer from GET usage: a limited feature is allowed while `amount` fits its hard
 * limit (a soft limit always allows: overage is billed); a boolean feature of the plan as it
 * says; any other feature has no limit, as POST usage treats it.
 */
export function checkUsage(usage: Pick<Usage, 'limits' | 'features'>, feature: string, amount = 1): UsageCheck {
  const l = usage.limits[feature];
  if (l) return { allowed: !l.hard || l.used + amount <= l.limit, remaining: l.remaining, limit: l.limit, hard: l.hard };
  return { allowed: usage.features[feature] ?? true, remaining: null, limit: null, hard: false };
}

/** POST subscription: change the plan, the price or the number of seats (README, "POST subscription"). */
export interface PlanChangeParams {
  /** The new price: a catalogue price id (GET plans) or a plan key; default the current price (a change of seats). */
  priceId?: string;
  /** Seats, for a per-seat plan; default the current number (at least the plan's minimum). */
  quantity?: number;
  /** true: answer what the change would do and charge, and change nothing. */
  preview?: boolean;
  /** A preview's `prorationDate`: the change is prorated as of that moment, so the invoice equals the preview. */
  prorationDate?: number;
}

/** A plan, price and number of seats, before or after a change. */
export interface PlanChoice {
  plan: { key: string; name: string } | null;
  /** The catalogue price id (lookup key), or Stripe's price id for a price outside the catalogue. */
  priceId: string;
  quantity: number;
}

/** A line of the invoice a change creates now (a proration: credit for unused time, charge for the rest of the period). */
export interface PlanChangeLine {
  description: string;
  /** Smallest currency unit; negative for a credit. */
  amount: number;
  proration: boolean;
  periodStart: string;
  periodEnd: string;
}

export interface PlanChange {
  /**
   * preview: nothing changed yet. applied: in force now (an upgrade, paid). scheduled: takes
   * effect at `effectiveAt` (a downgrade at the period's end). pending_canceled: back to the
   * current plan, the scheduled change is dropped. unchanged: nothing to do.
   */
  status: 'preview' | 'applied' | 'scheduled' | 'pending_canceled' | 'unchanged';
  /** By the catalogue's policy (README): upgrades apply now, downgrades at the period's end. */
  kind: 'upgrade' | 'downgrade' | 'none';
  from: PlanChoice;
  to: PlanChoice;
  effectiveAt: string;
  currency: string;
  /** What is charged now (Stripe's invoice for the change); 0 for a change at the period's end. */
  amountDueNow: number;
  /** The lines of that invoice. */
  lines: PlanChangeLine[];
  /** The next regular invoice after the change. */
  nextInvoice: { amount: number; date: string } | null;
  /** Unix seconds: pass it back with the confirmation so the charge equals this preview. */
  prorationDate: number;
}

export interface CheckoutParams {
  /** A catalogue price's id (GET plans: its lookup key), a plan key, or STRIPE_PRICE_ID; default STRIPE_PRICE_ID. */
  priceId?: string;
  /** Path or URL on the site's origin to return to after paying. */
  successUrl?: string;
  /** Path or URL on the site's origin to return to when the customer backs out. */
  cancelUrl?: string;
}

/**
 * A deep link into the portal (Stripe's portal flows): one task, then back to `returnUrl`.
 * - payment_method_update: add a card (pays an unpaid invoice: for a past_due subscription);
 * - subscription_cancel: cancel the current subscription (at the period's end by default);
 * - subscription_update_confirm: confirm a change to `priceId` and/or `quantity`.
 */
export type PortalFlow = 'payment_method_update' | 'subscription_cancel' | 'subscription_update_confirm';

export interface PortalParams {
  /** Path or URL on the site's origin to return to (after the flow, if any). */
  returnUrl?: string;
  /** Without it, the portal's home page. */
  flow?: PortalFlow;
  /** With flow subscription_update_confirm: the new price (GET plans: its id, a lookup key) or a plan key. */
  priceId?: string;
  /** With flow subscription_update_confirm: the seats (default: kept for the same plan, else the plan's minimum). */
  quantity?: number;
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
  | 'PAYMENT_FAILED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'ALREADY_SUBSCRIBED'
  | 'NO_SUBSCRIPTION'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'INTERNAL_ERROR'
  | 'SERVICE_UNAVAILABLE'
  /** The request never got an answer (offline, DNS, CORS refusal, timeout). */
  | 'NETWORK_ERROR'
  /** An answer that is not the API's JSON (a proxy's HTML error page, say). */
  | 'INVALID_RESPONSE'
  /** The client was used wrongly (an unknown option, a parameter of the wrong type): a bug in the calling code. */
  | 'INVALID_ARGUMENT'
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
  /**
   * The signed-in user's JWT (Supabase access token, ...), read before every call. Default:
   * `billing-token` in sessionStorage or localStorage, else the Supabase session in
   * localStorage or @supabase/ssr's cookies (README, "Browser client").
   */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Give up on a call after this long (NETWORK_ERROR). Default 20 s: the functions stop at 10 s. */
  timeoutMs?: number;
}

export interface BillingClient {
  /** The plan catalogue (GET plans): public, needs no signed-in user. */
  getPlans(): Promise<PlansResponse>;
  getSubscription(): Promise<SubscriptionStatus>;
  getUsage(): Promise<Usage>;
  /** May the signed-in account use `amount` (default 1) more of `feature` now? Reads GET usage; records nothing. */
  check(feature: string, amount?: number): Promise<UsageCheck>;
  createCheckout(params?: CheckoutParams): Promise<CheckoutSession>;
  createPortal(params?: PortalParams): Promise<PortalSession>;
  /**
   * Changes the plan, price or seats (POST subscription); with `preview: true`, answers what
   * it would do and charge and changes nothing. A declined payment is a BillingError
   * PAYMENT_FAILED (the plan is unchanged; `details.invoiceUrl` lets the customer pay).
   */
  changePlan(params: PlanChangeParams): Promise<PlanChange>;
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

const misuse = (message: string) => new BillingError({ code: 'INVALID_ARGUMENT', message, status: 0 });

/** What a wrong value is, for the message: `string`, `an array`, `MouseEvent`, ... */
function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v !== 'object') return typeof v;
  const name: unknown = Object.getPrototypeOf(v)?.constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? name : 'an object';
}

/** `value` is undefined or a plain object whose keys are `fields`, each undefined or a string. */
/** `types`: the fields that are not strings. */
function checkParams(where: string, value: unknown, fields: readonly string[], types: Record<string, 'number' | 'boolean'> = {}): Json {
  if (value === undefined) return {};
  const proto: unknown = typeof value === 'object' && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (!isObject(value) || (proto !== Object.prototype && proto !== null)) {
    throw misuse(`${where} takes an object such as { ${fields[0]}: '...' }, not ${kind(value)}`);
  }
  for (const [k, v] of Object.entries(value)) {
    if (!fields.includes(k)) throw misuse(`${where}: unknown parameter ${k} (known: ${fields.join(', ')})`);
    const type = types[k] ?? 'string';
    if (v !== undefined && typeof v !== type) throw misuse(`${where}: ${k} must be a ${type}, not ${kind(v)}`);
  }
  return value;
}

function locationOrFail(where: string, given: unknown): LocationLike {
  const loc = given ?? (globalThis as { location?: unknown }).location;
  if (loc === undefined) throw misuse(`${where} needs a location outside a browser: pass one with an assign(url) method`);
  if (typeof loc !== 'object' || loc === null || typeof (loc as { assign?: unknown }).assign !== 'function') {
    throw misuse(`${where}: the location must have an assign(url) method`);
  }
  return loc as LocationLike;
}

const OPTIONS = ['baseUrl', 'getToken', 'fetch', 'timeoutMs'] as const;

function checkOptions(options: unknown): BillingClientOptions {
  if (options === undefined) return {};
  if (!isObject(options)) throw misuse(`createBillingClient takes an options object ({ baseUrl, getToken, fetch, timeoutMs }) or nothing, not ${kind(options)}`);
  for (const key of Object.keys(options)) {
    if (!(OPTIONS as readonly string[]).includes(key)) throw misuse(`createBillingClient: unknown option ${key} (known: ${OPTIONS.join(', ')})`);
  }
  const { baseUrl, getToken, fetch: f, timeoutMs } = options;
  if (baseUrl !== undefined && (typeof baseUrl !== 'string' || baseUrl.trim() === '')) throw misuse(`createBillingClient: baseUrl must be a URL or path such as /api/billing, not ${kind(baseUrl)}`);
  if (getToken !== undefined && typeof getToken !== 'function') throw misuse(`createBillingClient: getToken must be a function returning the token, not ${kind(getToken)}`);
  if (f !== undefined && typeof f !== 'function') throw misuse(`createBillingClient: fetch must be a function, not ${kind(f)}`);
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    throw misuse('createBillingClient: timeoutMs must be a positive number of milliseconds');
  }
  return options as BillingClientOptions;
}

/** The token of this call: getToken's answer, or an UNAUTHORIZED BillingError that says why there is none. */
async function tokenFrom(getToken: NonNullable<BillingClientOptions['getToken']> | undefined): Promise<string> {
  let token: unknown;
  try {
    token = getToken ? await getToken() : sessionToken();
  } catch (cause) {
    // e.g. `() => session.access_token` with no session: a signed-out user, not a crash.
    throw new BillingError({ code: 'UNAUTHORIZED', message: 'Could not get the session token (getToken failed)', status: 0, cause });
  }
  if (token !== null && token !== undefined && typeof token !== 'string') {
    throw misuse(`getToken must return the token string (or null when signed out), not ${kind(token)}`);
  }
  const t = (token ?? '').trim();
  if (!t) {
    throw new BillingError({
      code: 'UNAUTHORIZED',
      message: getToken ? 'Not signed in: getToken gave no token' : 'Not signed in: no session token found (see getToken in the README to pass one)',
      status: 0,
    });
  }
  // A header can carry only visible ASCII: anything else is not a token (fetch would throw a TypeError).
  if (!/^[\x21-\x7e]+$/.test(t)) throw new BillingError({ code: 'UNAUTHORIZED', message: 'The session token is not a valid bearer token', status: 0 });
  return t;
}

export function createBillingClient(opts?: BillingClientOptions): BillingClient {
  const options = checkOptions(opts);
  const base = (options.baseUrl ?? '/api/billing').replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 20_000;

  async function call<T>(method: 'GET' | 'POST', name: string, body?: object, signedIn = true): Promise<T> {
    const doFetch = options.fetch ?? globalThis.fetch;
    if (typeof doFetch !== 'function') throw misuse('No fetch here: pass createBillingClient({ fetch })');
    let url = `${base}/${name}`;
    if (!options.fetch) {
      // A path resolves against the page; outside a page (server rendering) it cannot.
      const page = (globalThis as { location?: { href?: unknown } }).location?.href;
      const resolved = URL.canParse(url, typeof page === 'string' ? page : undefined) ? new URL(url, typeof page === 'string' ? page : undefined) : null;
      if (!resolved) throw misuse(`baseUrl ${base} is not an absolute URL, and there is no page to resolve it against: pass an absolute baseUrl outside a browser`);
      url = resolved.href;
    }
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (signedIn) headers.Authorization = `Bearer ${await tokenFrom(options.getToken)}`;
    if (body) headers['Content-Type'] = 'application/json';
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, {
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

  const CHECKOUT = ['priceId', 'successUrl', 'cancelUrl'] as const;
  const PORTAL = ['returnUrl', 'flow', 'priceId', 'quantity'] as const;
  const PORTAL_TYPES = { quantity: 'number' } as const;
  const CHANGE = ['priceId', 'quantity', 'preview', 'prorationDate'] as const;
  const CHANGE_TYPES = { quantity: 'number', preview: 'boolean', prorationDate: 'number' } as const;
  // Async, so a misuse rejects the promise like every other failure instead of throwing synchronously.
  const noArgs = (where: string, args: unknown[]) => {
    if (args.some((a) => a !== undefined)) throw misuse(`${where} takes no arguments (the account is the signed-in user's)`);
  };

  return {
    getPlans: async (...args: unknown[]) => (noArgs('getPlans', args), call<PlansResponse>('GET', 'plans', undefined, false)),
    getSubscription: async (...args: unknown[]) => (noArgs('getSubscription', args), call<SubscriptionStatus>('GET', 'subscription')),
    getUsage: async (...args: unknown[]) => (noArgs('getUsage', args), call<Usage>('GET', 'usage')),
    async check(feature: unknown, amount: unknown = 1) {
      if (typeof feature !== 'string' || feature === '') throw misuse(`check takes a feature key such as 'events', not ${feature === '' ? 'an empty string' : kind(feature)}`);
      if (!(typeof amount === 'number' && Number.isSafeInteger(amount) && amount > 0)) throw misuse('check: amount must be a positive whole number');
      return checkUsage(await call<Usage>('GET', 'usage'), feature, amount);
    },
    createCheckout: async (params?: CheckoutParams) => call<CheckoutSession>('POST', 'checkout', checkParams('createCheckout', params, CHECKOUT)),
    createPortal: async (params?: PortalParams) => call<PortalSession>('POST', 'portal', checkParams('createPortal', params, PORTAL, PORTAL_TYPES)),
    changePlan: async (params: PlanChangeParams) => call<PlanChange>('POST', 'subscription', checkParams('changePlan', params, CHANGE, CHANGE_TYPES)),
    async redirectToCheckout(params, location) {
      const loc = locationOrFail('redirectToCheckout', location);
      loc.assign((await call<CheckoutSession>('POST', 'checkout', checkParams('redirectToCheckout', params, CHECKOUT))).url);
    },
    async redirectToPortal(params, location) {
      const loc = locationOrFail('redirectToPortal', location);
      loc.assign((await call<PortalSession>('POST', 'portal', checkParams('redirectToPortal', params, PORTAL, PORTAL_TYPES))).url);
    },
  };
}
