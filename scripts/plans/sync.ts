/**
 * Makes a Stripe account match the catalogue (`npm run plans -- push`), or says what that
 * would change (`diff`). Step by step, each reading what Stripe has first, so running it
 * again changes nothing:
 *   1. products: one per plan, with the plan's product id (Stripe accepts an id of ours),
 *      name and description;
 *   2. prices, by lookup key: a missing one is created; one whose amount, currency, interval
 *      or product differs is replaced (Stripe prices are immutable): a new price takes the
 *      lookup key over (`transfer_lookup_key`) and the old one is archived, never deleted;
 *   3. Stripe Entitlements features, one per catalogue feature key (lookup key = the key),
 *      attached to the products of the plans that have it, detached from the others;
 *   4. the customer portal configuration marked ours (metadata), listing the plans' products
 *      and prices for subscription updates; its metadata keeps a hash of what it lists, so an
 *      unchanged catalogue changes nothing.
 * Nothing is ever deleted.
 */
import { createHash } from 'node:crypto';
import type Stripe from 'stripe';
import { CATALOGUE_MARK as MANAGED, type Catalogue, type Plan, type Price } from '../../shared/catalogue.ts';

export interface SyncReport {
  /** What was done (push) or would be (diff), one line each. */
  changes: string[];
}

const money = (p: { unitAmount: number; currency: string; interval: string; intervalCount: number }) =>
  `${p.unitAmount} ${p.currency}/${p.intervalCount === 1 ? '' : `${p.intervalCount} `}${p.interval}`;

const sameAs = (want: Price, productId: string, have: Stripe.Price) =>
  have.unit_amount === want.unitAmount &&
  have.currency === want.currency &&
  have.recurring?.interval === want.interval &&
  (have.recurring?.interval_count ?? 1) === want.intervalCount &&
  have.recurring?.usage_type !== 'metered' &&
  (typeof have.product === 'string' ? have.product : have.product.id) === productId;

/** Every feature key a plan grants: its true boolean features and its limited features. */
const grants = (plan: Plan) => [...Object.keys(plan.features).filter((k) => plan.features[k]), ...Object.keys(plan.limits)];

export async function syncCatalogue(stripe: Stripe, catalogue: Catalogue, apply: boolean): Promise<SyncReport> {
  const changes: string[] = [];
  const change = async (line: string, act: () => Promise<unknown>) => {
    changes.push(line);
    if (apply) await act();
  };
  const sold = catalogue.plans.filter((p) => p.prices.length > 0);

  // 1. Products.
  for (const plan of sold) {
    const have = await stripe.products.retrieve(plan.product).catch((err: { code?: string }) => {
      if (err.code === 'resource_missing') return null;
      throw err;
    });
    const fields = { name: plan.name, description: plan.description || '', active: true };
    if (!have) {
      await change(`create product ${plan.product} (${plan.name})`, () =>
        stripe.products.create({ id: plan.product, ...fields, metadata: { catalogue: MANAGED, plan: plan.key } }));
    } else if (have.name !== fields.name || (have.description ?? '') !== fields.description || !have.active) {
      await change(`update product ${plan.product} (${plan.name})`, () =>
        stripe.products.update(plan.product, { name: fields.name, description: fields.description, active: true }));
    }
  }

  // 2. Prices, by lookup key.
  const lookupKeys = sold.flatMap((p) => p.prices.map((x) => x.lookupKey));
  const existing = new Map<string, Stripe.Price>();
  for (let i = 0; i < lookupKeys.length; i += 10) {
    const page = await stripe.prices.list({ lookup_keys: lookupKeys.slice(i, i + 10), limit: 100 });
    for (const p of page.data) if (p.lookup_key) existing.set(p.lookup_key, p);
  }
  const priceIds = new Map<string, string>();
  for (const plan of sold) {
    for (const want of plan.prices) {
      const have = existing.get(want.lookupKey);
      const create = (transfer: boolean) =>
        stripe.prices.create({
          product: plan.product,
          currency: want.currency,
          unit_amount: want.unitAmount,
          recurring: { interval: want.interval, interval_count: want.intervalCount },
          lookup_key: want.lookupKey,
          ...(transfer ? { transfer_lookup_key: true } : {}),
          metadata: { catalogue: MANAGED, plan: plan.key },
        });
      if (!have) {
        await change(`create price ${want.lookupKey}: ${money(want)} on ${plan.product}`, async () => priceIds.set(want.lookupKey, (await create(false)).id));
      } else if (!sameAs(want, plan.product, have)) {
        const was = { unitAmount: have.unit_amount ?? 0, currency: have.currency, interval: have.recurring?.interval ?? '?', intervalCount: have.recurring?.interval_count ?? 1 };
        await change(`replace price ${want.lookupKey}: ${money(was)} -> ${money(want)} (new price takes the lookup key; ${have.id} archived)`, async () => {
          priceIds.set(want.lookupKey, (await create(true)).id);
          await stripe.prices.update(have.id, { active: false });
        });
      } else {
        priceIds.set(want.lookupKey, have.id);
        if (!have.active) await change(`reactivate price ${want.lookupKey} (${have.id})`, () => stripe.prices.update(have.id, { active: true }));
      }
    }
  }

  // 3. Entitlements features, attached to the products that grant them.
  const features = new Map<string, string>(); // lookup key -> feature id
  for await (const f of stripe.entitlements.features.list({ limit: 100 })) if (f.lookup_key) features.set(f.lookup_key, f.id);
  const keys = [...new Set(sold.flatMap(grants))].sort();
  for (const key of keys) {
    if (!features.has(key)) {
      await change(`create feature ${key}`, async () => features.set(key, (await stripe.entitlements.features.create({ name: key, lookup_key: key, metadata: { catalogue: MANAGED } })).id));
    }
  }
  for (const plan of sold) {
    const attached = new Map<string, string>(); // feature lookup key -> product feature id
    if (await productExists(stripe, plan.product)) {
      for await (const pf of stripe.products.listFeatures(plan.product, { limit: 100 })) attached.set(pf.entitlement_feature.lookup_key, pf.id);
    }
    const wanted = new Set(grants(plan));
    for (const key of [...wanted].sort()) {
      if (!attached.has(key)) await change(`attach feature ${key} to ${plan.product}`, () => stripe.products.createFeature(plan.product, { entitlement_feature: features.get(key)! }));
    }
    for (const [key, id] of attached) {
      if (!wanted.has(key)) await change(`detach feature ${key} from ${plan.product}`, () => stripe.products.deleteFeature(plan.product, id));
    }
  }

  // 4. The portal configuration that lists the plans.
  const products = sold.map((plan) => ({ product: plan.product, prices: plan.prices.map((p) => priceIds.get(p.lookupKey) ?? `<${p.lookupKey}>`) }));
  const hash = createHash('sha256').update(JSON.stringify(products)).digest('hex').slice(0, 32);
  let ours: Stripe.BillingPortal.Configuration | undefined;
  for await (const c of stripe.billingPortal.configurations.list({ limit: 100 })) if (c.metadata?.catalogue === MANAGED) ours ??= c;
  if (sold.length > 0 && ours?.metadata?.catalogue_hash !== hash) {
    const params = {
      features: {
        invoice_history: { enabled: true },
        payment_method_update: { enabled: true },
        subscription_cancel: { enabled: true, mode: 'at_period_end' as const },
        subscription_update: {
          enabled: true,
          default_allowed_updates: ['price' as const],
          proration_behavior: 'create_prorations' as const,
          products: () => sold.map((plan) => ({ product: plan.product, prices: plan.prices.map((p) => priceIds.get(p.lookupKey)!) })),
        },
      },
      metadata: { catalogue: MANAGED, catalogue_hash: hash },
    };
    // The price ids are known only once step 2 ran: read them when applying.
    const resolved = () => ({ ...params, features: { ...params.features, subscription_update: { ...params.features.subscription_update, products: params.features.subscription_update.products() } } });
    const plans = sold.map((p) => p.key).join(', ');
    const current = ours;
    if (current) await change(`update portal configuration ${current.id}: subscription updates between ${plans}`, () => stripe.billingPortal.configurations.update(current.id, resolved()));
    else await change(`create portal configuration: subscription updates between ${plans}`, () => stripe.billingPortal.configurations.create(resolved()));
  }
  return { changes };
}

async function productExists(stripe: Stripe, id: string): Promise<boolean> {
  return stripe.products.retrieve(id).then(() => true, (err: { code?: string }) => {
    if (err.code === 'resource_missing') return false;
    throw err;
  });
}
