/**
 * Which plan changes are upgrades (applied now, prorated and invoiced at once) and which are
 * downgrades (applied at the period's end by default): the catalogue's `changes` policy
 * (shared/catalogue.ts, ChangePolicy). Pure: decided from the prices' terms, no Stripe call.
 */
import type { ChangePolicy, Interval } from '../catalogue.ts';

/** What the policy compares of a price and its number of seats. */
export interface Terms {
  priceId: string;
  unitAmount: number;
  interval: Interval;
  intervalCount: number;
  quantity: number;
  /** The plan's position in the catalogue (-1: a price outside it). */
  rank: number;
}

export type ChangeKind = 'upgrade' | 'downgrade' | 'none';

// Only to order intervals: a year is longer than twelve months of 30 days.
const DAYS: Record<Interval, number> = { day: 1, week: 7, month: 30, year: 365 };
const length = (t: Terms) => DAYS[t.interval] * t.intervalCount;
const sign = (n: number): ChangeKind => (n > 0 ? 'upgrade' : n < 0 ? 'downgrade' : 'none');

export function classify(policy: ChangePolicy, from: Terms, to: Terms): ChangeKind {
  if (from.priceId === to.priceId && from.quantity === to.quantity) return 'none';
  const byOrder = policy.upgradeBy === 'order' ? sign(to.rank - from.rank) : 'none';
  if (byOrder !== 'none') return byOrder;
  const byInterval = sign(length(to) - length(from));
  if (byInterval !== 'none') return byInterval;
  const byAmount = sign(to.unitAmount * to.quantity - from.unitAmount * from.quantity);
  // The same amount on another price (another plan at the same price): nothing to pay, so at once.
  return byAmount === 'none' ? 'upgrade' : byAmount;
}

/** When a change of this kind takes effect. */
export const takesEffect = (policy: ChangePolicy, kind: ChangeKind): 'now' | 'period_end' =>
  kind === 'downgrade' && policy.downgrades === 'period_end' ? 'period_end' : 'now';
