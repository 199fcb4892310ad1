/** GET plans' answer (client/billing-client.ts) from the catalogue. */
import type { PlansResponse, PublicPlan } from '../client/billing-client.ts';
import type { Catalogue, Plan } from './catalogue.ts';

export const publicPlan = (p: Plan): PublicPlan => ({
  key: p.key,
  name: p.name,
  description: p.description,
  prices: p.prices.map((x) => ({ id: x.lookupKey, interval: x.interval, intervalCount: x.intervalCount, currency: x.currency, unitAmount: x.unitAmount })),
  features: p.features,
  limits: p.limits,
  trial: p.trial,
  seats: p.seats,
});

export const plansResponse = (c: Catalogue): PlansResponse => ({ plans: c.plans.map(publicPlan), meteredFeature: c.meteredFeature });
