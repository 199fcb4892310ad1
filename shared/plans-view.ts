/**
 * GET plans' answer: the catalogue as a pricing page needs it. The one type of this wire
 * shape, shared by the handler and the browser client.
 */
import type { Catalogue, LimitInput, Plan, TrialInput } from './catalogue.ts';

export interface PlanPrice {
  /** What checkout takes as `priceId`: the price's Stripe lookup key (the Stripe price id changes when an amount does). */
  id: string;
  interval: 'day' | 'week' | 'month' | 'year';
  intervalCount: number;
  currency: string;
  /** In the currency's smallest unit (cents). */
  unitAmount: number;
}

export interface PublicPlan {
  key: string;
  name: string;
  description: string;
  /** Empty for the plan of accounts without a subscription. */
  prices: PlanPrice[];
  features: Record<string, boolean>;
  /** Per billing period; `hard`: refused past the limit, else billed as overage. */
  limits: Record<string, LimitInput>;
  trial: TrialInput | null;
}

export interface PlansResponse {
  plans: PublicPlan[];
  /** The limited feature whose overage is billed through Stripe's meter. */
  meteredFeature: string;
}

export const publicPlan = (p: Plan): PublicPlan => ({
  key: p.key,
  name: p.name,
  description: p.description,
  prices: p.prices.map((x) => ({ id: x.lookupKey, interval: x.interval, intervalCount: x.intervalCount, currency: x.currency, unitAmount: x.unitAmount })),
  features: p.features,
  limits: p.limits,
  trial: p.trial,
});

export const plansResponse = (c: Catalogue): PlansResponse => ({ plans: c.plans.map(publicPlan), meteredFeature: c.meteredFeature });
