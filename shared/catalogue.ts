/**
 * The plan catalogue: what a plan is (prices, boolean features, numeric limits per billing
 * period, a trial), in one typed file, `catalogue.ts` at the repository's root. The API
 * (GET plans, GET subscription, usage limits, checkout), the demo's pricing page and
 * `npm run plans -- push` (which makes Stripe match) all read it from here.
 *
 * How it meets Stripe: a plan is one Stripe product, whose id is the plan's `product`
 * (default: its key; Stripe lets a product be created with an id of ours), so a
 * subscription's stored product id names its plan with no Stripe call. A price is named
 * by its `lookupKey` (Stripe prices are immutable: a changed amount is a new price that
 * takes over the lookup key).
 *
 * An empty catalogue (`plans: []`) is "no catalogue": checkout sells STRIPE_PRICE_ID as the
 * seeds describe, and no limit applies. Validated by hand, not with zod: this runs in every
 * cold start (see config.ts).
 */
import type { PlanLimit, PlanSeats, PlanTrial } from '../client/billing-client.ts';

export type Interval = 'day' | 'week' | 'month' | 'year';

export interface PriceInput {
  /** Stripe's lookup key: how checkout, the pricing page and `npm run plans` name this price. */
  lookupKey: string;
  interval: Interval;
  /** Every `intervalCount` intervals (default 1). */
  intervalCount?: number;
  /** ISO currency, lower case: usd, eur... */
  currency: string;
  /** In the currency's smallest unit (cents). */
  unitAmount: number;
}

/** A limit per billing period, and a trial: as GET plans answers them (client/billing-client.ts). */
export type LimitInput = PlanLimit;
export type TrialInput = PlanTrial;
/** A per-seat plan's bounds on the subscription's quantity. */
export type SeatsInput = PlanSeats;

/**
 * Plan changes (POST subscription). An upgrade takes effect at once, prorated and invoiced
 * now; a downgrade at the end of the period (or at once, with a prorated credit, when
 * `downgrades: 'now'`). What counts as an upgrade (`upgradeBy`):
 * - 'amount' (default): a longer billing interval, or, at the same interval, a higher
 *   amount per period (unit amount times seats); a shorter interval or a lower amount is a
 *   downgrade; the same amount on another plan counts as an upgrade (nothing to pay).
 * - 'order': the plans' order in this file, later is higher; within a plan, more seats
 *   or a longer interval is an upgrade.
 */
export interface ChangePolicy {
  upgradeBy: 'amount' | 'order';
  downgrades: 'period_end' | 'now';
}

export interface PlanInput {
  /** Stable identifier: [a-z0-9_-], at most 40 characters. */
  key: string;
  name: string;
  description?: string;
  /** The Stripe product's id (default: the key). Set it to adopt a product that exists. */
  product?: string;
  /** No prices: the plan of every account without a subscription (at most one such plan). */
  prices: PriceInput[];
  /** Boolean features (feature key -> included). */
  features?: Record<string, boolean>;
  /** Numeric limits per billing period (feature key -> limit). */
  limits?: Record<string, LimitInput>;
  trial?: TrialInput;
  /** Sold per seat: quantity from `min` to `max` (absent: quantity 1). */
  seats?: SeatsInput;
}

export interface CatalogueInput {
  /**
   * The limited feature whose usage is reported to Stripe's meter (STRIPE_METER_EVENT_NAME).
   * Usage records that name no feature count for this one. Default 'events'.
   */
  meteredFeature?: string;
  /** How plan changes are classed and when they apply (defaults in ChangePolicy). */
  changes?: Partial<ChangePolicy>;
  plans: PlanInput[];
}

export interface Price extends Required<PriceInput> {}
export interface Plan {
  key: string;
  name: string;
  description: string;
  product: string;
  prices: Price[];
  features: Record<string, boolean>;
  limits: Record<string, LimitInput>;
  trial: TrialInput | null;
  seats: SeatsInput | null;
}
export interface Catalogue {
  meteredFeature: string;
  changes: ChangePolicy;
  plans: Plan[];
}

/**
 * `metadata.catalogue` on what `npm run plans -- push` creates in Stripe (products, prices,
 * features, the portal configuration), so the tool and the portal flows find it again.
 */
export const CATALOGUE_MARK = 'billing-functions';

/** The catalogue as written, checked by `parseCatalogue` when the configuration is read. */
export const defineCatalogue = (c: CatalogueInput): CatalogueInput => c;

/** A problem with the catalogue: `path` names the plan and field (plans[basic].prices[0].unitAmount). */
export class CatalogueError extends Error {
  constructor(readonly path: string, problem: string) {
    super(`${path} ${problem}`);
    this.name = 'CatalogueError';
  }
}

const KEY = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const LOOKUP_KEY = /^[\x21-\x7e]{1,200}$/;
export const INTERVALS: readonly Interval[] = ['day', 'week', 'month', 'year'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isWhole = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

function need(ok: boolean, path: string, problem: string): asserts ok {
  if (!ok) throw new CatalogueError(path, problem);
}

function known(v: Record<string, unknown>, fields: string[], path: string) {
  for (const k of Object.keys(v)) need(fields.includes(k), `${path}.${k}`, `is not a field (expected one of ${fields.join(', ')})`);
}

function text(v: unknown, path: string, max: number): string {
  need(typeof v === 'string' && v.trim().length > 0 && v.length <= max, path, `must be a non-empty string of at most ${max} characters`);
  return v;
}

function price(v: unknown, path: string): Price {
  need(isObject(v), path, 'must be an object');
  known(v, ['lookupKey', 'interval', 'intervalCount', 'currency', 'unitAmount'], path);
  need(typeof v.lookupKey === 'string' && LOOKUP_KEY.test(v.lookupKey), `${path}.lookupKey`, 'must be 1 to 200 printable characters, no spaces');
  need(INTERVALS.some((i) => i === v.interval), `${path}.interval`, `must be one of ${INTERVALS.join(', ')}`);
  need(v.intervalCount === undefined || isWhole(v.intervalCount, 1), `${path}.intervalCount`, 'must be a whole number of at least 1');
  need(typeof v.currency === 'string' && /^[a-z]{3}$/.test(v.currency), `${path}.currency`, 'must be a 3-letter ISO currency in lower case (usd)');
  need(isWhole(v.unitAmount, 0), `${path}.unitAmount`, 'must be a whole number of the smallest currency unit (cents), 0 or more');
  return {
    lookupKey: v.lookupKey,
    interval: v.interval as Interval,
    intervalCount: (v.intervalCount as number | undefined) ?? 1,
    currency: v.currency,
    unitAmount: v.unitAmount,
  };
}

function features(v: unknown, path: string): Record<string, boolean> {
  if (v === undefined) return {};
  need(isObject(v), path, 'must be an object of feature -> true/false');
  for (const [k, on] of Object.entries(v)) {
    need(KEY.test(k), `${path}.${k}`, 'is not a feature key ([a-z0-9_-], at most 40)');
    need(typeof on === 'boolean', `${path}.${k}`, 'must be true or false');
  }
  return v as Record<string, boolean>;
}

function limits(v: unknown, path: string): Record<string, LimitInput> {
  if (v === undefined) return {};
  need(isObject(v), path, 'must be an object of feature -> { limit, hard }');
  const out: Record<string, LimitInput> = {};
  for (const [k, l] of Object.entries(v)) {
    const at = `${path}.${k}`;
    need(KEY.test(k), at, 'is not a feature key ([a-z0-9_-], at most 40)');
    need(isObject(l), at, 'must be { limit, hard }');
    known(l, ['limit', 'hard'], at);
    need(isWhole(l.limit, 0), `${at}.limit`, 'must be a whole number, 0 or more');
    need(typeof l.hard === 'boolean', `${at}.hard`, 'must be true (refuse past the limit) or false (bill overage)');
    out[k] = { limit: l.limit, hard: l.hard };
  }
  return out;
}

function trial(v: unknown, path: string): TrialInput | null {
  if (v === undefined || v === null) return null;
  need(isObject(v), path, 'must be { days, card }');
  known(v, ['days', 'card'], path);
  // Stripe: trial_period_days from 1 to 730.
  need(isWhole(v.days, 1) && v.days <= 730, `${path}.days`, 'must be a whole number from 1 to 730');
  need(v.card === 'required' || v.card === 'if_required', `${path}.card`, "must be 'required' or 'if_required'");
  return { days: v.days, card: v.card };
}

/** The most seats a plan may sell: Stripe's quantity is an integer; far more than any team needs, far below its bound. */
export const MAX_SEATS = 100_000;

function seats(v: unknown, path: string): SeatsInput | null {
  if (v === undefined || v === null) return null;
  need(isObject(v), path, 'must be { min, max }');
  known(v, ['min', 'max'], path);
  need(isWhole(v.min, 1), `${path}.min`, 'must be a whole number of at least 1');
  need(isWhole(v.max, v.min) && v.max <= MAX_SEATS, `${path}.max`, `must be a whole number from min (${v.min}) to ${MAX_SEATS}`);
  return { min: v.min, max: v.max };
}

function changes(v: unknown): ChangePolicy {
  if (v === undefined) return { upgradeBy: 'amount', downgrades: 'period_end' };
  need(isObject(v), 'changes', 'must be { upgradeBy?, downgrades? }');
  known(v, ['upgradeBy', 'downgrades'], 'changes');
  const upgradeBy = v.upgradeBy ?? 'amount';
  const downgrades = v.downgrades ?? 'period_end';
  need(upgradeBy === 'amount' || upgradeBy === 'order', 'changes.upgradeBy', "must be 'amount' or 'order'");
  need(downgrades === 'period_end' || downgrades === 'now', 'changes.downgrades', "must be 'period_end' or 'now'");
  return { upgradeBy, downgrades };
}

function plan(v: unknown, index: number): Plan {
  need(isObject(v), `plans[${index}]`, 'must be an object');
  need(typeof v.key === 'string' && KEY.test(v.key), `plans[${index}].key`, 'must be [a-z0-9_-], at most 40 characters, starting with a letter or digit');
  const path = `plans[${v.key}]`;
  known(v, ['key', 'name', 'description', 'product', 'prices', 'features', 'limits', 'trial', 'seats'], path);
  need(Array.isArray(v.prices), `${path}.prices`, 'must be a list (empty for the plan of accounts without a subscription)');
  const p: Plan = {
    key: v.key,
    name: text(v.name, `${path}.name`, 80),
    description: v.description === undefined ? '' : text(v.description, `${path}.description`, 500),
    product: v.product === undefined ? v.key : text(v.product, `${path}.product`, 255),
    prices: v.prices.map((x, i) => price(x, `${path}.prices[${i}]`)),
    features: features(v.features, `${path}.features`),
    limits: limits(v.limits, `${path}.limits`),
    trial: trial(v.trial, `${path}.trial`),
    seats: seats(v.seats, `${path}.seats`),
  };
  need(!(p.trial && p.prices.length === 0), `${path}.trial`, 'needs a price (a plan without prices is never checked out)');
  need(!(p.seats && p.prices.length === 0), `${path}.seats`, 'needs a price (a plan without prices has no subscription)');
  return p;
}

/** Validates a catalogue as written. Throws CatalogueError naming the plan, field and problem. */
export function parseCatalogue(input: unknown): Catalogue {
  need(isObject(input), 'catalogue', 'must be an object with plans');
  known(input, ['meteredFeature', 'changes', 'plans'], 'catalogue');
  need(Array.isArray(input.plans), 'plans', 'must be a list');
  const meteredFeature = input.meteredFeature === undefined ? 'events' : input.meteredFeature;
  need(typeof meteredFeature === 'string' && KEY.test(meteredFeature), 'meteredFeature', 'must be a feature key ([a-z0-9_-], at most 40)');
  const plans = input.plans.map(plan);
  const seen = (what: string, values: string[]) => {
    const twice = values.find((x, i) => values.indexOf(x) !== i);
    need(twice === undefined, what, `has ${JSON.stringify(twice)} twice`);
  };
  seen('plans[].key', plans.map((p) => p.key));
  seen('plans[].product', plans.map((p) => p.product));
  seen('plans[].prices[].lookupKey', plans.flatMap((p) => p.prices.map((x) => x.lookupKey)));
  need(plans.filter((p) => p.prices.length === 0).length <= 1, 'plans', 'may have one plan without prices (the plan of accounts without a subscription), not more');
  return { meteredFeature, changes: changes(input.changes), plans };
}

/** The plan a Stripe product belongs to, or null (a price sold outside the catalogue). */
export const planOfProduct = (c: Catalogue, productId: string | null | undefined): Plan | null =>
  (productId && c.plans.find((p) => p.product === productId)) || null;

/** The plan of accounts without a subscription, if the catalogue has one. */
export const freePlan = (c: Catalogue): Plan | null => c.plans.find((p) => p.prices.length === 0) ?? null;

/** The plan and price a lookup key names, or null. */
export function priceByLookupKey(c: Catalogue, lookupKey: string): { plan: Plan; price: Price } | null {
  for (const plan of c.plans) {
    const price = plan.prices.find((p) => p.lookupKey === lookupKey);
    if (price) return { plan, price };
  }
  return null;
}

/**
 * The plan an account is on: its subscription's plan while the subscription grants access,
 * else the catalogue's plan without prices (or null).
 */
export const planOfAccount = (c: Catalogue, access: { hasAccess: boolean; productId: string | null }): Plan | null =>
  access.hasAccess ? planOfProduct(c, access.productId) : freePlan(c);
