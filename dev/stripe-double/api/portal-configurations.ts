/**
 * /v1/billing_portal/configurations: what the customer portal offers (`npm run plans` keeps
 * one listing the catalogue's plans for subscription updates). Features are stored as given,
 * over the defaults of Stripe's example object.
 */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { fixture } from '../fixtures.ts';
import { newId } from '../ids.ts';
import { any, bool, map, mergeMetadata, nullableStr, PAGINATION, parseParams } from '../params.ts';
import type { Router } from '../router.ts';
import { find } from '../store.ts';
import { listResponse, objectResponse, type ExpandParam, type ListParams } from './common.ts';

interface ConfigurationParams extends ExpandParam {
  features?: Record<string, Record<string, unknown>>;
  business_profile?: Record<string, unknown>;
  default_return_url?: string | null;
  metadata?: Record<string, string> | null;
  active?: boolean;
}

const FIELDS = { features: any, business_profile: any, default_return_url: nullableStr, metadata: map, active: bool, login_page: any, name: any };

/** Deep-merges form values (strings) over `base`, typing booleans and lists (`a[0]=...`) as Stripe does. */
function merged(base: unknown, given: unknown): unknown {
  if (given === 'true' || given === 'false') return given === 'true';
  if (typeof given === 'object' && given !== null && !Array.isArray(given) && Object.keys(given).every((k) => /^\d+$/.test(k))) {
    given = Object.entries(given).sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
  }
  if (Array.isArray(given)) return given.map((g) => merged(undefined, g));
  if (typeof given !== 'object' || given === null) return given;
  const out: Record<string, unknown> = { ...(typeof base === 'object' && base !== null ? base : {}) };
  for (const [k, v] of Object.entries(given)) out[k] = merged(out[k], v);
  return out;
}

export function portalConfigurationRoutes(router: Router, ctx: Ctx): void {
  const { store, clock } = ctx;

  const apply = (c: Stripe.BillingPortal.Configuration, p: ConfigurationParams) => {
    if (p.features) c.features = merged(c.features, p.features) as Stripe.BillingPortal.Configuration.Features;
    if (p.business_profile) c.business_profile = merged(c.business_profile, p.business_profile) as Stripe.BillingPortal.Configuration.BusinessProfile;
    if (p.default_return_url !== undefined) c.default_return_url = p.default_return_url;
    if (p.metadata !== undefined) c.metadata = mergeMetadata(c.metadata ?? {}, p.metadata);
    if (p.active !== undefined) c.active = p.active;
    c.updated = clock.now();
  };

  router.post('/v1/billing_portal/configurations', (req) => {
    const p = parseParams<ConfigurationParams>(FIELDS, req.input, ['features']);
    const c = fixture('billing_portal.configuration');
    Object.assign(c, { id: newId.portalConfiguration(), created: clock.now(), livemode: false, metadata: {}, is_default: store.portalConfigurations.values().length === 0 });
    apply(c, p);
    store.portalConfigurations.set(c);
    return objectResponse(ctx, c, p.expand);
  });

  router.get('/v1/billing_portal/configurations', (req) => {
    const p = parseParams<ListParams & { active?: boolean; is_default?: boolean }>({ ...PAGINATION, active: bool, is_default: bool }, req.input);
    const items = store.portalConfigurations
      .newestFirst()
      .filter((c) => (p.active === undefined || c.active === p.active) && (p.is_default === undefined || c.is_default === p.is_default));
    return listResponse(ctx, items, p, '/v1/billing_portal/configurations', 'billing_portal.configuration');
  });

  router.get('/v1/billing_portal/configurations/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, find(store.portalConfigurations, req.params.id ?? '', 'billing_portal.configuration'), p.expand);
  });

  router.post('/v1/billing_portal/configurations/:id', (req) => {
    const p = parseParams<ConfigurationParams>(FIELDS, req.input);
    const c = find(store.portalConfigurations, req.params.id ?? '', 'billing_portal.configuration');
    apply(c, p);
    return objectResponse(ctx, c, p.expand);
  });
}
