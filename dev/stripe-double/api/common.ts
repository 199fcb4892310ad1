/** Helpers the /v1 handlers share. */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import { Emission } from '../events.ts';
import { expandList, expandPaths } from '../expand.ts';
import { snapshot } from '../fixtures.ts';
import { paginate, type PageParams } from '../list.ts';
import type { ApiRequest, ApiResponse } from '../router.ts';
import type { Collection } from '../store.ts';

export interface ExpandParam {
  expand?: string[];
}

/** The stored object `id` or Stripe's 404 (`No such customer: 'cus_x'`). */
export function find<T extends { id: string }>(collection: Collection<T>, id: string, resource: string, param = 'id'): T {
  const found = collection.get(id);
  if (!found) throw errors.notFound(resource, id, param);
  return found;
}

/** A response with a snapshot of `object`, expanded as asked. */
export function objectResponse(ctx: Ctx, object: object, expand?: string[], status = 200): ApiResponse {
  return { status, body: expandPaths(snapshot(object), expand, ctx.store) };
}

/** A list response: `items` newest first, paginated, `data.`-expanded. */
export function listResponse<T extends { id: string }>(
  ctx: Ctx,
  items: T[],
  params: PageParams & ExpandParam,
  url: string,
  resource: string,
): ApiResponse {
  const list: Stripe.ApiList<T> = paginate(items.map((i) => snapshot(i)), params, url, resource);
  return { body: expandList(list, params.expand, ctx.store) };
}

/** Runs a state change whose events are delivered after the response (like Stripe's asynchronous webhooks). */
export function mutate<R>(ctx: Ctx, req: ApiRequest, change: (em: Emission) => R): R {
  const em = new Emission(req.origin);
  const result = change(em);
  void ctx.bus.publish(em.events);
  return result;
}

/** `created` filters: `created=123` or `created[gte]=...`. */
export type RangeParam = number | { gt?: number; gte?: number; lt?: number; lte?: number };

export function inRange(value: number, range: RangeParam | undefined): boolean {
  if (range === undefined) return true;
  if (typeof range === 'number') return value === range;
  if (range.gt !== undefined && !(value > range.gt)) return false;
  if (range.gte !== undefined && !(value >= range.gte)) return false;
  if (range.lt !== undefined && !(value < range.lt)) return false;
  if (range.lte !== undefined && !(value <= range.lte)) return false;
  return true;
}

/** Rejects parameters that Stripe accepts but the double does not model, rather than silently ignoring them. */
export function rejectUnsupported(input: object, names: readonly string[], prefix = ''): void {
  for (const name of names) {
    if (name in input) {
      const param = prefix ? `${prefix}[${name}]` : name;
      throw errors.invalidParam(param, `The Stripe double does not support '${param}' (Stripe does); extend dev/stripe-double if you need it.`);
    }
  }
}
