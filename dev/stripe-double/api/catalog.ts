/** /v1/products and /v1/prices: create, retrieve, list. */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import type { Emission } from '../events.ts';
import { newId } from '../ids.ts';
import { buildPrice, buildProduct } from '../objects/catalog.ts';
import { any, bool, map, mergeMetadata, nullableStr, PAGINATION, parseParams, range, str, strArray, unsupported, type Fields, type Spec } from '../params.ts';
import type { Router } from '../router.ts';
import { find, idOf } from '../store.ts';
import { inRange, listResponse, mutate, objectResponse, type ExpandParam, type ListParams, type RangeParam } from './common.ts';

const PRODUCT_FIELDS: Fields = {
  name: str,
  id: str,
  description: nullableStr,
  metadata: map,
  active: bool,
  unit_label: nullableStr,
  // Accepted by Stripe; the double does not store them.
  images: any,
  marketing_features: any,
  package_dimensions: any,
  shippable: any,
  statement_descriptor: any,
  tax_code: any,
  tax_details: any,
  type: any,
  url: any,
  default_price_data: any,
};

interface ProductParams extends ExpandParam {
  name: string;
  id?: string;
  description?: string | null;
  metadata?: Record<string, string> | null;
  active?: boolean;
  unit_label?: string | null;
}

const RECURRING: Spec = {
  t: 'object',
  required: ['interval'],
  fields: {
    interval: { t: 'string', enum: ['day', 'week', 'month', 'year'] },
    interval_count: { t: 'integer', min: 1 },
    usage_type: { t: 'string', enum: ['licensed', 'metered'] },
    meter: str,
    trial_period_days: any,
  },
};

const PRICE_FIELDS: Fields = {
  currency: str,
  unit_amount: { t: 'integer', min: 0 },
  product: str,
  product_data: { t: 'object', required: ['name'], fields: { name: str, metadata: map, active: bool, unit_label: str, tax_code: any, statement_descriptor: any, id: str } },
  recurring: RECURRING,
  lookup_key: str,
  nickname: str,
  metadata: map,
  active: bool,
  transfer_lookup_key: bool,
  tax_behavior: any,
  // Accepted by Stripe; the double does not model them, so it rejects them.
  unit_amount_decimal: unsupported,
  billing_scheme: unsupported,
  currency_options: unsupported,
  custom_unit_amount: unsupported,
  tiers: unsupported,
  tiers_mode: unsupported,
  transform_quantity: unsupported,
};

interface PriceParams extends ExpandParam {
  currency: string;
  unit_amount?: number;
  product?: string;
  product_data?: { name: string; metadata?: Record<string, string>; active?: boolean; unit_label?: string; id?: string };
  recurring?: { interval: Stripe.Price.Recurring.Interval; interval_count?: number; usage_type?: Stripe.Price.Recurring.UsageType; meter?: string };
  lookup_key?: string;
  nickname?: string;
  metadata?: Record<string, string> | null;
  active?: boolean;
  transfer_lookup_key?: boolean;
}

interface CatalogListParams extends ListParams {
  active?: boolean;
  created?: RangeParam;
}

export function catalogRoutes(router: Router, ctx: Ctx): void {
  const { store, clock, bus } = ctx;

  function createProduct(em: Emission, p: Omit<ProductParams, 'expand'>): Stripe.Product {
    const id = p.id ?? newId.product();
    if (store.products.has(id)) throw errors.badRequest(`Product already exists.`, 'id', 'resource_already_exists');
    const product = buildProduct(id, clock.now(), {
      name: p.name,
      description: p.description ?? null,
      metadata: mergeMetadata({}, p.metadata),
      active: p.active ?? true,
      unit_label: p.unit_label ?? null,
    });
    store.products.set(product);
    bus.emit(em, 'product.created', product);
    return product;
  }

  router.post('/v1/products', (req) => {
    const p = parseParams<ProductParams>(PRODUCT_FIELDS, req.input, ['name']);
    const product = mutate(ctx, req, (em) => createProduct(em, p));
    return objectResponse(ctx, product, p.expand);
  });

  router.post('/v1/products/:id', (req) => {
    const p = parseParams<Partial<ProductParams>>(PRODUCT_FIELDS, req.input);
    const product = find(store.products, req.params.id ?? '', 'product');
    const updated = mutate(ctx, req, (em) => {
      if (p.name !== undefined) product.name = p.name;
      if (p.description !== undefined) product.description = p.description;
      if (p.active !== undefined) product.active = p.active;
      if (p.unit_label !== undefined) product.unit_label = p.unit_label;
      if (p.metadata !== undefined) product.metadata = mergeMetadata(product.metadata, p.metadata);
      product.updated = clock.now();
      bus.emit(em, 'product.updated', product);
      return product;
    });
    return objectResponse(ctx, updated, p.expand);
  });

  router.get('/v1/products/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, find(store.products, req.params.id ?? '', 'product'), p.expand);
  });

  router.get('/v1/products', (req) => {
    const p = parseParams<CatalogListParams & { ids?: string[] }>(
      { ...PAGINATION, active: bool, created: range, ids: strArray, shippable: any, type: any, url: any },
      req.input,
    );
    const items = store.products
      .newestFirst()
      .filter((x) => (p.active === undefined || x.active === p.active) && (!p.ids || p.ids.includes(x.id)) && inRange(x.created, p.created));
    return listResponse(ctx, items, p, '/v1/products', 'product');
  });

  router.post('/v1/prices', (req) => {
    const p = parseParams<PriceParams>(PRICE_FIELDS, req.input, ['currency']);
    if (p.unit_amount === undefined) throw errors.missingParam('unit_amount');
    if (p.product === undefined && p.product_data === undefined) throw errors.missingParam('product');
    if (p.product !== undefined && p.product_data !== undefined) {
      throw errors.invalidParam('product', 'You may only specify one of these parameters: product, product_data.', 'parameters_exclusive');
    }
    if (p.product !== undefined) find(store.products, p.product, 'product', 'product');
    const usageType = p.recurring?.usage_type ?? 'licensed';
    if (p.recurring && usageType === 'metered') {
      if (!p.recurring.meter) throw errors.missingParam('recurring[meter]');
      find(store.meters, p.recurring.meter, 'billing.meter', 'recurring[meter]');
    }
    const lookupOwner = p.lookup_key ? store.prices.values().find((x) => x.lookup_key === p.lookup_key) : undefined;
    if (lookupOwner && !p.transfer_lookup_key) {
      throw errors.badRequest(`A price (\`${lookupOwner.id}\`) already uses that lookup key.`, 'lookup_key');
    }
    const price = mutate(ctx, req, (em) => {
      const productId = p.product ?? createProduct(em, p.product_data ?? { name: 'Product' }).id;
      if (lookupOwner) lookupOwner.lookup_key = null;
      const created = buildPrice(newId.price(), clock.now(), {
        product: productId,
        currency: p.currency.toLowerCase(),
        unit_amount: p.unit_amount ?? 0,
        recurring: p.recurring
          ? { interval: p.recurring.interval, interval_count: p.recurring.interval_count ?? 1, usage_type: usageType, meter: p.recurring.meter ?? null }
          : null,
        lookup_key: p.lookup_key ?? null,
        nickname: p.nickname ?? null,
        metadata: mergeMetadata({}, p.metadata),
        active: p.active ?? true,
      });
      store.prices.set(created);
      bus.emit(em, 'price.created', created);
      return created;
    });
    return objectResponse(ctx, price, p.expand);
  });

  // Only what Stripe lets change on a price: its amount, currency and interval are immutable.
  router.post('/v1/prices/:id', (req) => {
    const p = parseParams<{ active?: boolean; lookup_key?: string; transfer_lookup_key?: boolean; nickname?: string; metadata?: Record<string, string> | null } & ExpandParam>(
      { active: bool, lookup_key: str, transfer_lookup_key: bool, nickname: str, metadata: map, tax_behavior: any, currency_options: unsupported },
      req.input,
    );
    const price = find(store.prices, req.params.id ?? '', 'price');
    const owner = p.lookup_key ? store.prices.values().find((x) => x.lookup_key === p.lookup_key && x.id !== price.id) : undefined;
    if (owner && !p.transfer_lookup_key) throw errors.badRequest(`A price (\`${owner.id}\`) already uses that lookup key.`, 'lookup_key');
    const updated = mutate(ctx, req, (em) => {
      if (owner) owner.lookup_key = null;
      if (p.lookup_key !== undefined) price.lookup_key = p.lookup_key;
      if (p.active !== undefined) price.active = p.active;
      if (p.nickname !== undefined) price.nickname = p.nickname;
      if (p.metadata !== undefined) price.metadata = mergeMetadata(price.metadata, p.metadata);
      bus.emit(em, 'price.updated', price);
      return price;
    });
    return objectResponse(ctx, updated, p.expand);
  });

  router.get('/v1/prices/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, find(store.prices, req.params.id ?? '', 'price'), p.expand);
  });

  router.get('/v1/prices', (req) => {
    const p = parseParams<CatalogListParams & { product?: string; type?: string; currency?: string; lookup_keys?: string[]; recurring?: { interval?: string; usage_type?: string; meter?: string } }>(
      {
        ...PAGINATION,
        active: bool,
        created: range,
        product: str,
        currency: str,
        type: { t: 'string', enum: ['one_time', 'recurring'] },
        lookup_keys: strArray,
        recurring: { t: 'object', fields: { interval: str, usage_type: str, meter: str } },
      },
      req.input,
    );
    const items = store.prices.newestFirst().filter((x) => {
      if (p.active !== undefined && x.active !== p.active) return false;
      if (p.product !== undefined && idOf(x.product) !== p.product) return false;
      if (p.type !== undefined && x.type !== p.type) return false;
      if (p.currency !== undefined && x.currency !== p.currency) return false;
      if (p.lookup_keys !== undefined && (x.lookup_key === null || !p.lookup_keys.includes(x.lookup_key))) return false;
      if (p.recurring?.interval !== undefined && x.recurring?.interval !== p.recurring.interval) return false;
      if (p.recurring?.usage_type !== undefined && x.recurring?.usage_type !== p.recurring.usage_type) return false;
      if (p.recurring?.meter !== undefined && x.recurring?.meter !== p.recurring.meter) return false;
      return inRange(x.created, p.created);
    });
    return listResponse(ctx, items, p, '/v1/prices', 'price');
  });

}
