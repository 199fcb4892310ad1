/** The catalog every double starts with: two monthly plans (catalogue.ts's basic and pro), a metered price, its meter. */
import type { Ctx } from './context.ts';
import { buildMeter, buildPrice, buildProduct } from './objects/catalog.ts';

export const SEED = {
  meter: 'mtr_double_events',
  meterEventName: 'tracked_events',
  prices: { basic: 'price_basic_monthly', pro: 'price_pro_monthly', usage: 'price_usage_metered' },
  products: { basic: 'basic', pro: 'pro', usage: 'prod_double_events' },
} as const;

export function seedCatalog(ctx: Ctx): void {
  const now = ctx.clock.now();
  const { store } = ctx;
  store.meters.set(buildMeter(SEED.meter, now, { display_name: 'Tracked events', event_name: SEED.meterEventName, formula: 'sum' }));
  store.products.set(buildProduct(SEED.products.basic, now, { name: 'Basic', description: 'For a personal site or a side project.' }));
  store.products.set(buildProduct(SEED.products.pro, now, { name: 'Pro', description: 'For teams and businesses with several sites.' }));
  store.products.set(buildProduct(SEED.products.usage, now, { name: 'Tracked events', unit_label: 'event' }));
  const monthly = (usage_type: 'licensed' | 'metered', meter: string | null) => ({ interval: 'month', interval_count: 1, usage_type, meter }) as const;
  store.prices.set(
    buildPrice(SEED.prices.basic, now, {
      product: SEED.products.basic,
      currency: 'usd',
      unit_amount: 900,
      recurring: monthly('licensed', null),
      lookup_key: 'basic_monthly',
      nickname: 'Basic monthly',
    }),
  );
  store.prices.set(
    buildPrice(SEED.prices.pro, now, {
      product: SEED.products.pro,
      currency: 'usd',
      unit_amount: 2900,
      recurring: monthly('licensed', null),
      lookup_key: 'pro_monthly',
      nickname: 'Pro monthly',
    }),
  );
  store.prices.set(
    buildPrice(SEED.prices.usage, now, {
      product: SEED.products.usage,
      currency: 'usd',
      unit_amount: 1,
      recurring: monthly('metered', SEED.meter),
      lookup_key: 'usage_metered',
      nickname: 'Tracked events (per event)',
    }),
  );
  for (const id of [SEED.products.basic, SEED.products.pro, SEED.products.usage]) {
    const product = store.products.get(id);
    const price = store.prices.values().find((p) => p.product === id);
    if (product && price) product.default_price = price.id;
  }
}
