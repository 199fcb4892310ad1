/**
 * A stateful local Stripe double that the real stripe-node SDK talks HTTP to.
 *
 *   const double = await startStripeDouble({ port: 0, webhook: { url, secret } });
 *   const stripe = new Stripe(double.apiKey, { ...double.clientConfig, maxNetworkRetries: 0 });
 *   await double.actions.completeCheckout(sessionId);   // events delivered, signed like Stripe
 *
 * See README.md in this folder for endpoints, actions and what is (not) modelled.
 */
import type Stripe from 'stripe';
import { createActions, type DoubleActions } from './actions.ts';
import { catalogRoutes } from './api/catalog.ts';
import { entitlementRoutes } from './api/entitlements.ts';
import { portalConfigurationRoutes } from './api/portal-configurations.ts';
import { portalSessionRoutes } from './api/portal-sessions.ts';
import { checkoutRoutes } from './api/checkout.ts';
import { customerRoutes } from './api/customers.ts';
import { eventRoutes } from './api/events.ts';
import { invoiceRoutes } from './api/invoices.ts';
import { meteringRoutes } from './api/metering.ts';
import { subscriptionScheduleRoutes } from './api/subscription-schedules.ts';
import { subscriptionRoutes } from './api/subscriptions.ts';
import { Clock } from './clock.ts';
import { makeUrls, type Ctx } from './context.ts';
import { EventBus } from './events.ts';
import { Faults, type FaultSpec } from './faults.ts';
import { RateLimiter, type RateLimitSetting, type RateLimitSpec, type RateLimitStats } from './rate-limits.ts';
import { Router } from './router.ts';
import { SEED, seedCatalog } from './seed.ts';
import { closeServer, createDoubleServer, listen, type RequestLogEntry } from './server.ts';
import { stateView, Store, type DoubleState } from './store.ts';
import { signPayload, type DeliveryResult, type WebhookTarget } from './webhooks.ts';

export type { DoubleActions, ActionOptions, ActionResult } from './actions.ts';
export type { CompleteCheckoutOptions } from './billing/checkout.ts';
export type { FaultSpec } from './faults.ts';
export type { RateLimitSetting, RateLimitSpec, RateLimitStats, RateLimitWindow } from './rate-limits.ts';
export { RATE_LIMITS } from './rate-limits.ts';
export type { RequestLogEntry } from './server.ts';
export type { DoubleState } from './store.ts';
export type { DeliveryResult, WebhookTarget } from './webhooks.ts';
export { API_VERSION } from './objects/event.ts';
export { SEED } from './seed.ts';
export { checkoutSessionIdOf } from './context.ts';
export { signPayload } from './webhooks.ts';

/**
 * The secret key the double answers to unless told otherwise: what `npm run dev` hands the
 * app (dev/start.ts) and what scripts that reach its double assume.
 */
export const DOUBLE_API_KEY = 'sk_test_local_double';

export interface StripeDoubleOptions {
  /** The only secret key /v1 accepts (default DOUBLE_API_KEY); any other is Stripe's 401. */
  apiKey?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Where to POST events, and the endpoint secret to sign them with. */
  webhook?: WebhookTarget;
  /** Base of the Checkout/portal URLs handed out (default: the double's own URL). */
  publicBaseUrl?: string;
  /** Enforce Stripe's request rate limits ('test', 'live' or explicit numbers); off by default. */
  rateLimits?: RateLimitSetting;
}

export interface DeliverOptions {
  /** Another endpoint (default: the current webhook target). */
  url?: string;
  /** Another signing secret (default: the current target's). */
  secret?: string;
  /** Signature timestamp in unix seconds (default: wall time now). */
  timestamp?: number;
  /** Send this body instead of the event (e.g. to test tampering). */
  payload?: string;
}

export interface StripeDouble {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** The secret key it accepts: `new Stripe(double.apiKey, ...)`. */
  apiKey: string;
  /** stripe-node config to reach it: `new Stripe(key, { ...double.clientConfig })`. */
  clientConfig: { host: string; port: number; protocol: 'http' };
  setWebhook(target: WebhookTarget | null): void;
  actions: DoubleActions;
  faults: { inject(f: FaultSpec): void; clear(): void };
  /** Stripe's request rate limits: `set('live' | 'test' | {read, write, ...} | null)`, what they let through and refused. */
  rateLimits: { set(setting: RateLimitSetting | null): void; readonly limits: RateLimitSpec | null; stats(): RateLimitStats };
  /** The double's clock (unix seconds); objects and events take their timestamps from it. */
  clock: { now(): number; advance(seconds: number): void };
  state: DoubleState;
  /** Every /v1 call received, in order. */
  requestLog: RequestLogEntry[];
  /** Every webhook delivery attempted, in order. */
  deliveries: readonly DeliveryResult[];
  /** The `Stripe-Signature` header Stripe would send for `payload`. */
  sign(payload: string, secret: string, timestamp?: number): string;
  /** (Re)delivers one event now, outside the queue, in any order you like. */
  deliver(event: Stripe.Event, opts?: DeliverOptions): Promise<DeliveryResult>;
  /** Resolves when the events caused by API calls (delivered asynchronously, like Stripe) have been delivered. */
  idle(): Promise<void>;
  /** Ids of the seeded catalog (prices, products, meter). */
  seed: typeof SEED;
  close(): Promise<void>;
}

export async function startStripeDouble(opts: StripeDoubleOptions = {}): Promise<StripeDouble> {
  const host = opts.host ?? '127.0.0.1';
  const apiKey = opts.apiKey ?? DOUBLE_API_KEY;
  // A test key only: the double must never look like a place for a live key.
  if (!/^(sk|rk)_test_\S+$/.test(apiKey)) throw new Error(`stripe double: apiKey must be an sk_test_ or rk_test_ key (got ${apiKey.slice(0, 8)}...)`);
  let url = '';
  const store = new Store();
  const clock = new Clock();
  const bus = new EventBus(store, clock, opts.webhook ?? null);
  const urls = makeUrls(() => (opts.publicBaseUrl ?? url).replace(/\/+$/, ''));
  const ctx: Ctx = { store, clock, bus, urls };
  seedCatalog(ctx);

  const router = new Router();
  customerRoutes(router, ctx);
  catalogRoutes(router, ctx);
  entitlementRoutes(router, ctx);
  portalConfigurationRoutes(router, ctx);
  portalSessionRoutes(router, ctx);
  checkoutRoutes(router, ctx);
  subscriptionRoutes(router, ctx);
  subscriptionScheduleRoutes(router, ctx);
  invoiceRoutes(router, ctx);
  meteringRoutes(router, ctx);
  eventRoutes(router, ctx);

  const actions = createActions(ctx);
  const faults = new Faults();
  const rateLimits = new RateLimiter(clock);
  if (opts.rateLimits) rateLimits.set(opts.rateLimits);
  const requestLog: RequestLogEntry[] = [];
  const state = stateView(store);
  const setWebhook = (target: WebhookTarget | null) => bus.setTarget(target);
  const server = createDoubleServer({
    apiKey,
    router,
    faults,
    rateLimits,
    requestLog,
    control: { actions, clock, bus, faults, state, requestLog, setWebhook },
  });
  const port = await listen(server, opts.port ?? 0, host);
  url = `http://${host}:${port}`;

  return {
    url,
    port,
    apiKey,
    clientConfig: { host, port, protocol: 'http' },
    setWebhook,
    actions,
    faults: { inject: (f) => faults.inject(f), clear: () => faults.clear() },
    rateLimits,
    clock: { now: () => clock.now(), advance: (s) => clock.advance(s) },
    state,
    requestLog,
    deliveries: bus.deliveries,
    sign: (payload, secret, timestamp) => signPayload(payload, secret, timestamp),
    deliver: (event, o = {}) => {
      const current = bus.getTarget();
      const target = o.url || o.secret ? { url: o.url ?? current?.url ?? '', secret: o.secret ?? current?.secret ?? '' } : undefined;
      if (target && (!target.url || !target.secret)) throw new Error('deliver: give url and secret, or set a webhook target first');
      return bus.deliver(event, {
        ...(target ? { target } : {}),
        ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}),
        ...(o.payload !== undefined ? { payload: o.payload } : {}),
      });
    },
    idle: () => bus.idle(),
    seed: SEED,
    close: async () => {
      await closeServer(server);
    },
  };
}
