/**
 * The catalogue's limits as usage meets them: what POST usage passes to the SQL that
 * enforces them (billing_usage_record, one round trip), which features a record may name,
 * and what GET usage answers per limited feature.
 */
import type { UsageLimit } from '../../client/billing-client.ts';
import type { Catalogue, Plan } from '../catalogue.ts';
import { freePlan } from '../catalogue.ts';
import type { Config } from '../config.ts';
import type { UsageLimitsParam, UsageRecordOptions, UsageTotals } from '../store/types.ts';

const paramOf = new WeakMap<Catalogue, UsageLimitsParam | null>();

/** The limits of every plan by Stripe product, and the free plan's; null when no plan has a limit. */
export function limitsParam(c: Catalogue): UsageLimitsParam | null {
  let param = paramOf.get(c);
  if (param === undefined) {
    param = c.plans.some((p) => Object.keys(p.limits).length > 0)
      ? { products: Object.fromEntries(c.plans.map((p) => [p.product, p.limits])), free: freePlan(c)?.limits ?? null }
      : null;
    paramOf.set(c, param);
  }
  return param;
}

export const recordOptions = (cfg: Config): UsageRecordOptions => ({
  metered_feature: cfg.catalogue.meteredFeature,
  limits: limitsParam(cfg.catalogue),
  grace_days: cfg.PAST_DUE_GRACE_DAYS,
});

/** Features a usage record may name: the metered one and every limited feature of a plan (a typo must not slip past a limit). */
export const knownFeatures = (c: Catalogue): string[] => [...new Set([c.meteredFeature, ...c.plans.flatMap((p) => Object.keys(p.limits))])];

/** GET usage's answer per limited feature of the plan, for the period's ledger. */
export function limitsView(plan: Plan | null, c: Catalogue, totals: UsageTotals, resetsAt: string): Record<string, UsageLimit> {
  return Object.fromEntries(
    Object.entries(plan?.limits ?? {}).map(([feature, { limit, hard }]) => {
      const used = feature === c.meteredFeature ? totals.recorded : (totals.features[feature] ?? 0);
      return [feature, { limit, hard, used, remaining: Math.max(0, limit - used), resetsAt }];
    }),
  );
}
