/**
 * What a plan change asks for, checked against the catalogue and our stored subscription
 * before any Stripe call: every 4xx of POST subscription is decided here.
 */
import type { PlanChangeParams } from '../../client/billing-client.ts';
import type { Access } from '../access.ts';
import { MAX_SEATS, type Plan, type Price } from '../catalogue.ts';
import { checkoutPrice, type CheckoutPrice } from '../checkout-price.ts';
import type { Config } from '../config.ts';
import { ApiError, badRequest } from '../errors.ts';
import type { SubscriptionRow } from '../store/index.ts';
import type { Stripe } from '../stripe.ts';
import * as z from '../zod.ts';

/** Body fields that name a price and seats, as checkout, POST subscription and the portal's update flow take them. */
export const PRICE_ID = z.optional(z.string().check(z.maxLength(255)));
export const SEATS = z.optional(z.number().check(z.int('must be a whole number'), z.minimum(1), z.maximum(MAX_SEATS)));

/** 409 for a request that needs a subscription the account does not have: checkout, at `checkoutPath`, makes one. */
export const noSubscription = (checkoutPath: string) =>
  new ApiError('NO_SUBSCRIPTION', `No subscription: subscribe with POST ${checkoutPath}`, { details: { checkout: checkoutPath } });

/** The subscription's licensed item: what a plan change replaces (a metered item stays). */
export function planItem(sub: Stripe.Subscription): Stripe.SubscriptionItem {
  const item = sub.items.data.find((i) => i.price.recurring?.usage_type !== 'metered');
  if (!item) throw new ApiError('CONFLICT', 'The subscription has no plan price to change');
  return item;
}

export interface ChangeTarget {
  subscription: SubscriptionRow;
  /** Resolves the new price through Stripe (kept per warm instance, as for checkout). */
  resolvePrice: (stripe: Stripe) => Promise<CheckoutPrice>;
  /** The seats asked for, or null: decided once the new plan is known (seatsFor). */
  quantity: number | null;
  /** Unix seconds, from a preview; null: now. */
  prorationDate: number | null;
}

/**
 * `changePath`: POST subscription's path in the caller's dialect, named by the errors that
 * send the caller elsewhere.
 */
export function changeTarget(cfg: Config, access: Access, body: PlanChangeParams, checkoutPath: string): ChangeTarget {
  const s = access.subscription;
  if (!s || !access.hasAccess) throw noSubscription(checkoutPath);
  if (s.status === 'past_due' || s.status === 'unpaid') {
    throw new ApiError('CONFLICT', 'The subscription has an unpaid invoice: update the payment method first (POST portal with flow payment_method_update)');
  }
  if (s.cancel_at_period_end || s.cancel_at) {
    throw new ApiError('CONFLICT', 'The subscription is set to end: renew it in the billing portal before changing it');
  }
  if (cfg.catalogue.plans.length === 0) throw badRequest('Plan changes need a plan catalogue (catalogue.ts)');
  // No priceId: the same price, other seats. The stored price id is resolved like any other.
  const requested = body.priceId ?? s.price_id ?? undefined;
  return {
    subscription: s,
    resolvePrice: checkoutPrice(cfg, requested),
    quantity: body.quantity ?? null,
    prorationDate: body.prorationDate ?? null,
  };
}

/** The seats of the new plan: asked, kept from the current plan when it is the same per-seat plan, else the minimum. */
export function seatsFor(plan: Plan, asked: number | null, current: { productId: string | null; quantity: number }): number {
  if (!plan.seats) {
    if (asked !== null && asked !== 1) throw badRequest(`Plan ${plan.key} is not sold per seat: quantity must be 1`);
    return 1;
  }
  const { min, max } = plan.seats;
  if (asked !== null) {
    if (asked < min || asked > max) throw badRequest(`Plan ${plan.key} has from ${min} to ${max} seats: quantity ${asked} is outside`);
    return asked;
  }
  return plan.product === current.productId ? Math.min(max, Math.max(min, current.quantity)) : min;
}

/** A catalogue price: a change to STRIPE_PRICE_ID outside the catalogue has no terms to judge it by. */
export function catalogued(price: CheckoutPrice): { id: string; plan: Plan; price: Price } {
  if (!price.plan || !price.price) throw badRequest('Plan changes are to catalogue prices: name one of GET plans');
  return { id: price.id, plan: price.plan, price: price.price };
}

/** The proration moment: the preview's, which must lie in the current period (as Stripe requires), or now. */
export function prorationMoment(asked: number | null, period: { start: number; end: number }, now = Math.floor(Date.now() / 1000)): number {
  if (asked === null) return Math.min(period.end - 1, Math.max(period.start, now));
  if (asked < period.start || asked >= period.end) throw badRequest('prorationDate is outside the current billing period: preview the change again');
  return asked;
}

