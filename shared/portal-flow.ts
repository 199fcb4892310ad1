/**
 * Portal deep links: POST portal's `flow` as Stripe's `flow_data`, for the caller's own current
 * subscription (from our database). Every 4xx is decided by `portalFlow` before any Stripe
 * call; `flowData` then reads what only Stripe knows (the subscription item, the price id).
 * The customer comes back to the return URL once the task is done (after_completion: redirect).
 */
import type { PortalFlow, PortalParams } from '../client/billing-client.ts';
import type { Access } from './access.ts';
import { CATALOGUE_MARK, priceByLookupKey } from './catalogue.ts';
import type { Config } from './config.ts';
import { ApiError, badRequest } from './errors.ts';
import { catalogued, changeTarget, noSubscription, planItem, seatsFor, type ChangeTarget } from './plan-change/target.ts';
import type { SubscriptionRow } from './store/index.ts';
import { idOf } from './subscription-snapshot.ts';
import type { Stripe } from './stripe.ts';

export const PORTAL_FLOWS = ['payment_method_update', 'subscription_cancel', 'subscription_update_confirm'] as const satisfies readonly PortalFlow[];

export type FlowPlan =
  | { type: 'payment_method_update' }
  | { type: 'subscription_cancel'; subscription: SubscriptionRow }
  | { type: 'subscription_update_confirm'; target: ChangeTarget };

/** Statuses Stripe can still cancel. */
const CANCELABLE: readonly string[] = ['active', 'trialing', 'past_due', 'unpaid', 'paused'];

/**
 * What the flow asks of the account, checked against our stored subscription and the
 * catalogue; null without a flow (the portal's home page). `checkoutPath`: POST checkout's path in the caller's dialect, for the 409s.
 */
export function portalFlow(cfg: Config, access: Access, body: PortalParams, checkoutPath: string): FlowPlan | null {
  const { flow } = body;
  if (flow !== 'subscription_update_confirm' && (body.priceId !== undefined || body.quantity !== undefined)) {
    throw badRequest('priceId and quantity go with flow subscription_update_confirm');
  }
  switch (flow) {
    case undefined:
      return null;
    case 'payment_method_update':
      return { type: flow };
    case 'subscription_cancel': {
      const s = access.subscription;
      if (!s || !CANCELABLE.includes(s.status)) throw noSubscription(checkoutPath);
      if (s.cancel_at_period_end || s.cancel_at) throw new ApiError('CONFLICT', 'The subscription is already set to end: renew it in the billing portal to keep it');
      return { type: flow, subscription: s };
    }
    case 'subscription_update_confirm': {
      if (body.priceId === undefined && body.quantity === undefined) throw badRequest('flow subscription_update_confirm needs priceId (GET plans), quantity or both');
      // The same rules as POST subscription: a live subscription, not past due, not ending.
      const target = changeTarget(cfg, access, body, checkoutPath);
      // Seats asked of a plan the catalogue names: judged now (a Stripe price id only once resolved).
      const name = body.priceId;
      const plan = name === undefined ? null : (cfg.catalogue.plans.find((p) => p.key === name) ?? priceByLookupKey(cfg.catalogue, name)?.plan);
      if (plan && body.quantity !== undefined) seatsFor(plan, body.quantity, { productId: null, quantity: body.quantity });
      return { type: flow, target };
    }
  }
}

const TTL_MS = 60_000;
const configurations = new WeakMap<Config, { id: string | null; until: number }>();

/**
 * The portal configuration a flow runs in: the one `npm run plans -- push` keeps (it enables
 * the three tasks and lists the catalogue's prices, which Stripe requires of a change), else
 * none (the account's default one). A configuration made through the API is never the
 * default, so it must be named. Looked up once a minute per warm instance.
 */
export async function flowConfiguration(stripe: Stripe, cfg: Config): Promise<string | null> {
  const hit = configurations.get(cfg);
  if (hit && hit.until > Date.now()) return hit.id;
  let id: string | null = null;
  for await (const c of stripe.billingPortal.configurations.list({ active: true, limit: 100 })) {
    if (c.metadata?.['catalogue'] === CATALOGUE_MARK) {
      id = c.id;
      break;
    }
  }
  configurations.set(cfg, { id, until: Date.now() + TTL_MS });
  return id;
}

/** The flow as Stripe's `flow_data`, back to `returnUrl` once done. */
export async function flowData(stripe: Stripe, plan: FlowPlan, returnUrl: string): Promise<Stripe.BillingPortal.SessionCreateParams.FlowData> {
  const after_completion = { type: 'redirect' as const, redirect: { return_url: returnUrl } };
  switch (plan.type) {
    case 'payment_method_update':
      return { type: plan.type, after_completion };
    case 'subscription_cancel':
      return { type: plan.type, after_completion, subscription_cancel: { subscription: plan.subscription.id } };
    case 'subscription_update_confirm': {
      const { target } = plan;
      const [sub, resolved] = await Promise.all([stripe.subscriptions.retrieve(target.subscription.id), target.resolvePrice(stripe)]);
      const to = catalogued(resolved);
      // Stripe's portal updates one item: the subscription's licensed (plan) item.
      const item = planItem(sub);
      const quantity = seatsFor(to.plan, target.quantity, { productId: idOf(item.price.product), quantity: item.quantity ?? 1 });
      if (to.id === item.price.id && quantity === (item.quantity ?? 1)) throw new ApiError('CONFLICT', 'The subscription already has this price and quantity');
      return {
        type: plan.type,
        after_completion,
        subscription_update_confirm: { subscription: sub.id, items: [{ id: item.id, price: to.id, quantity }] },
      };
    }
  }
}
