/** Helpers the /v1 handlers share. */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { Emission } from '../events.ts';
import { expandList, expandPaths } from '../expand.ts';
import { snapshot } from '../fixtures.ts';
import { paginate, type PageParams } from '../list.ts';
import { errors } from '../errors.ts';
import type { ApiRequest, ApiResponse } from '../router.ts';
import { find } from '../store.ts';

export interface ExpandParam {
  expand?: string[];
}

/** What every list endpoint takes: `expand` and the cursor parameters. */
export type ListParams = ExpandParam & PageParams;

/** A response with a snapshot of `object`, expanded as asked. */
export function objectResponse(ctx: Ctx, object: object, expand?: string[]): ApiResponse {
  return { body: expandPaths(snapshot(object), expand, ctx.store) };
}

/** A list response: `items` newest first, paginated, `data.`-expanded. */
export function listResponse<T extends { id: string }>(
  ctx: Ctx,
  items: T[],
  params: ListParams,
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

/** A recurring, active price named by parameter `param` (what subscription items and phases take). */
export function recurringPrice(ctx: Ctx, id: string, param: string): Stripe.Price {
  const price = find(ctx.store.prices, id, 'price', param);
  if (!price.recurring) throw errors.invalidParam(param, `The price specified is set to \`type=one_time\` but this field only accepts prices with \`type=recurring\`.`);
  if (!price.active) throw errors.invalidParam(param, 'The price specified is inactive. This field only accepts active prices.');
  return price;
}
