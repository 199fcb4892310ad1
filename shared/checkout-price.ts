/**
 * Which Stripe price a checkout sells, from what the request names:
 * - nothing: STRIPE_PRICE_ID (seed 2's flow), else the catalogue's only price;
 * - STRIPE_PRICE_ID itself, as before;
 * - a catalogue price's lookup key (what GET plans answers as a price's `id`), or a plan key
 *   when the plan has one price;
 * - a Stripe price id that carries one of the catalogue's lookup keys.
 * Anything else is 400 Unknown price. Lookup keys and price ids are resolved through Stripe
 * once per warm instance and kept a minute (`npm run plans -- push` may move a lookup key to a
 * new price), so a warm checkout makes no extra Stripe call.
 */
import { priceByLookupKey, type Catalogue, type Plan, type Price } from './catalogue.ts';
import { ConfigError, type Config } from './config.ts';
import { badRequest } from './errors.ts';
import type { Stripe } from './stripe.ts';

export interface CheckoutPrice {
  /** The Stripe price id. */
  id: string;
  /** Its catalogue plan and price; null for STRIPE_PRICE_ID outside the catalogue. */
  plan: Plan | null;
  price: Price | null;
}

const TTL_MS = 60_000;
// Per catalogue (a new configuration is a new one), so a price is never judged by another's.
const memory = new WeakMap<Catalogue, Map<string, { price: CheckoutPrice; until: number }>>();

async function remembered(catalogue: Catalogue, key: string, resolve: () => Promise<CheckoutPrice>): Promise<CheckoutPrice> {
  let resolved = memory.get(catalogue);
  if (!resolved) memory.set(catalogue, (resolved = new Map()));
  const hit = resolved.get(key);
  if (hit && hit.until > Date.now()) return hit.price;
  const price = await resolve();
  if (resolved.size > 1000) resolved.clear(); // a bound: a catalogue has a handful of prices
  resolved.set(key, { price, until: Date.now() + TTL_MS });
  return price;
}

const isMissing = (err: unknown) => (err as { code?: unknown } | null)?.code === 'resource_missing';

/**
 * Checks what the request names against the configuration (its 400s need no Stripe call),
 * and returns how to resolve it to a Stripe price.
 */
export function checkoutPrice(cfg: Config, requested: string | undefined): (stripe: Stripe) => Promise<CheckoutPrice> {
  const { catalogue } = cfg;
  const sold = catalogue.plans.flatMap((plan) => plan.prices.map((price) => ({ plan, price })));
  const name = requested ?? cfg.STRIPE_PRICE_ID ?? (sold.length === 1 ? sold[0]!.price.lookupKey : undefined);
  if (name === undefined) {
    if (sold.length === 0) throw new ConfigError('STRIPE_PRICE_ID', 'is required for this endpoint (or a catalogue with prices)');
    throw badRequest(`priceId is required: one of ${sold.map((s) => s.price.lookupKey).join(', ')}`);
  }
  if (name === cfg.STRIPE_PRICE_ID) return async () => ({ id: name, plan: null, price: null });

  const plan = catalogue.plans.find((p) => p.key === name);
  if (plan && plan.prices.length !== 1) {
    throw badRequest(plan.prices.length === 0 ? `Plan ${plan.key} is not sold` : `Plan ${plan.key} has several prices: name one of ${plan.prices.map((p) => p.lookupKey).join(', ')}`);
  }
  const lookupKey = plan ? plan.prices[0]!.lookupKey : name;
  const entry = priceByLookupKey(catalogue, lookupKey);
  if (entry) {
    return (stripe) => remembered(catalogue, `lookup:${lookupKey}`, async () => {
      const { data } = await stripe.prices.list({ lookup_keys: [lookupKey], active: true, limit: 1 });
      // Our deployment and Stripe disagree: an operator's problem, not the buyer's.
      if (!data[0]) throw new ConfigError('catalogue', `price ${lookupKey} is not in Stripe: run npm run plans -- push`);
      return { id: data[0].id, ...entry };
    });
  }
  if (!name.startsWith('price_')) throw badRequest('Unknown price');
  return (stripe) => remembered(catalogue, `id:${name}`, async () => {
    const price = await stripe.prices.retrieve(name).catch((err: unknown) => {
      if (isMissing(err)) throw badRequest('Unknown price');
      throw err;
    });
    const owner = price.active && price.lookup_key ? priceByLookupKey(catalogue, price.lookup_key) : null;
    if (!owner) throw badRequest('Unknown price');
    return { id: price.id, ...owner };
  });
}
