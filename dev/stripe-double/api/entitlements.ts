/**
 * Stripe Entitlements as `npm run plans` uses them: /v1/entitlements/features (a feature per
 * lookup key, unique) and /v1/products/:id/features (features attached to a product).
 */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import { fixture } from '../fixtures.ts';
import { newId } from '../ids.ts';
import { bool, map, mergeMetadata, PAGINATION, parseParams, str } from '../params.ts';
import type { Router } from '../router.ts';
import { Collection, find } from '../store.ts';
import { listResponse, objectResponse, type ExpandParam, type ListParams } from './common.ts';

interface FeatureParams extends ExpandParam {
  name?: string;
  lookup_key?: string;
  metadata?: Record<string, string> | null;
  active?: boolean;
}

export function entitlementRoutes(router: Router, ctx: Ctx): void {
  const { store } = ctx;

  router.post('/v1/entitlements/features', (req) => {
    const p = parseParams<FeatureParams & { name: string; lookup_key: string }>({ name: str, lookup_key: str, metadata: map }, req.input, ['name', 'lookup_key']);
    if (store.features.values().some((f) => f.lookup_key === p.lookup_key)) {
      throw errors.badRequest(`A feature with lookup_key ${p.lookup_key} already exists.`, 'lookup_key', 'resource_already_exists');
    }
    const f = fixture('entitlements.feature');
    Object.assign(f, { id: newId.feature(), livemode: false, name: p.name, lookup_key: p.lookup_key, metadata: mergeMetadata({}, p.metadata), active: true });
    store.features.set(f);
    return objectResponse(ctx, f, p.expand);
  });

  router.get('/v1/entitlements/features', (req) => {
    const p = parseParams<ListParams & { lookup_key?: string; archived?: boolean }>({ ...PAGINATION, lookup_key: str, archived: bool }, req.input);
    const items = store.features
      .newestFirst()
      .filter((f) => (p.lookup_key === undefined || f.lookup_key === p.lookup_key) && (p.archived === undefined || f.active !== p.archived));
    return listResponse(ctx, items, p, '/v1/entitlements/features', 'entitlements.feature');
  });

  router.get('/v1/entitlements/features/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, find(store.features, req.params.id ?? '', 'feature'), p.expand);
  });

  router.post('/v1/entitlements/features/:id', (req) => {
    const p = parseParams<FeatureParams>({ name: str, metadata: map, active: bool }, req.input);
    const f = find(store.features, req.params.id ?? '', 'feature');
    if (p.name !== undefined) f.name = p.name;
    if (p.active !== undefined) f.active = p.active;
    if (p.metadata !== undefined) f.metadata = mergeMetadata(f.metadata, p.metadata);
    return objectResponse(ctx, f, p.expand);
  });

  const attachedTo = (productId: string): Collection<Stripe.ProductFeature> => {
    find(store.products, productId, 'product');
    let c = store.productFeatures.get(productId);
    if (!c) store.productFeatures.set(productId, (c = new Collection()));
    return c;
  };

  router.post('/v1/products/:id/features', (req) => {
    const p = parseParams<ExpandParam & { entitlement_feature: string }>({ entitlement_feature: str }, req.input, ['entitlement_feature']);
    const attached = attachedTo(req.params.id ?? '');
    const feature = find(store.features, p.entitlement_feature, 'feature', 'entitlement_feature');
    if (attached.values().some((x) => x.entitlement_feature.id === feature.id)) {
      throw errors.badRequest(`Feature ${feature.id} is already attached to this product.`, 'entitlement_feature', 'resource_already_exists');
    }
    const pf = fixture('product_feature');
    Object.assign(pf, { id: newId.productFeature(), livemode: false, entitlement_feature: feature });
    attached.set(pf);
    return objectResponse(ctx, pf, p.expand);
  });

  router.get('/v1/products/:id/features', (req) => {
    const p = parseParams<ListParams>({ ...PAGINATION }, req.input);
    const id = req.params.id ?? '';
    // Each attachment shows the feature as it is now.
    const items = attachedTo(id).newestFirst().map((pf) => ({ ...pf, entitlement_feature: store.features.get(pf.entitlement_feature.id) ?? pf.entitlement_feature }));
    return listResponse(ctx, items, p, `/v1/products/${id}/features`, 'product_feature');
  });

  router.delete('/v1/products/:product/features/:id', (req) => {
    const attached = attachedTo(req.params.product ?? '');
    const pf = find(attached, req.params.id ?? '', 'product_feature');
    attached.delete(pf.id);
    return { body: { id: pf.id, object: 'product_feature', deleted: true } };
  });
}
