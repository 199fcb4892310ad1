/** Stripe list objects with cursor pagination (`limit`, `starting_after`, `ending_before`). */
import type Stripe from 'stripe';
import { errors } from './errors.ts';

export interface PageParams {
  limit?: number;
  starting_after?: string;
  ending_before?: string;
}

/** `items` newest first, as Stripe orders lists. `resource` names the type in a missing-cursor error. */
export function paginate<T extends { id: string }>(items: T[], params: PageParams, url: string, resource: string): Stripe.ApiList<T> {
  const limit = params.limit ?? 10;
  let data: T[];
  let hasMore: boolean;
  if (params.starting_after !== undefined) {
    const index = items.findIndex((i) => i.id === params.starting_after);
    if (index < 0) throw errors.noSuchParamObject(resource, params.starting_after, 'starting_after');
    const rest = items.slice(index + 1);
    data = rest.slice(0, limit);
    hasMore = rest.length > limit;
  } else if (params.ending_before !== undefined) {
    const index = items.findIndex((i) => i.id === params.ending_before);
    if (index < 0) throw errors.noSuchParamObject(resource, params.ending_before, 'ending_before');
    const before = items.slice(0, index);
    data = before.slice(Math.max(0, before.length - limit));
    hasMore = before.length > limit;
  } else {
    data = items.slice(0, limit);
    hasMore = items.length > limit;
  }
  return { object: 'list', data, has_more: hasMore, url };
}
