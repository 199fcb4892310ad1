/** /v1/events: retrieve and list (type with `*` wildcards, types[], created, delivery_success). */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { bool, PAGINATION, parseParams, range, str, strArray } from '../params.ts';
import type { Router } from '../router.ts';
import { find } from '../store.ts';
import { inRange, listResponse, objectResponse, type ExpandParam, type ListParams, type RangeParam } from './common.ts';

interface EventListParams extends ListParams {
  type?: string;
  types?: string[];
  created?: RangeParam;
  delivery_success?: boolean;
}

function typeMatches(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(type);
}

export function eventRoutes(router: Router, ctx: Ctx): void {
  const { store } = ctx;

  router.get('/v1/events/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, find(store.events, req.params.id ?? '', 'event'), p.expand);
  });

  router.get('/v1/events', (req) => {
    const p = parseParams<EventListParams>({ ...PAGINATION, type: str, types: strArray, created: range, delivery_success: bool }, req.input);
    const items = store.events.newestFirst().filter(
      (e: Stripe.Event) =>
        (p.type === undefined || typeMatches(p.type, e.type)) &&
        (p.types === undefined || p.types.includes(e.type)) &&
        (p.delivery_success === undefined || (e.pending_webhooks === 0) === p.delivery_success) &&
        inRange(e.created, p.created),
    );
    return listResponse(ctx, items, p, '/v1/events', 'event');
  });
}
