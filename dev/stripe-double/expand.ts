/**
 * `expand[]`: replaces id strings with the objects they name, along dotted paths
 * (`customer`, `latest_invoice`, `items.data.price.product`, and `data.`-prefixed
 * paths on lists). Works on snapshots, never on stored objects.
 */
import type Stripe from 'stripe';
import { isRecord } from './diff.ts';
import { errors } from './errors.ts';
import { snapshot } from './fixtures.ts';
import type { Store } from './store.ts';

/** Fields Stripe lets you expand, wherever they appear. */
const EXPANDABLE = new Set([
  'customer',
  'subscription',
  'latest_invoice',
  'invoice',
  'price',
  'product',
  'default_price',
  'payment_intent',
  'setup_intent',
  'pending_setup_intent',
  'default_payment_method',
  'default_source',
  'schedule',
  'discounts',
  'payment_link',
  'configuration',
  'latest_revision',
  'on_behalf_of',
  'application',
  'test_clock',
]);

const MAX_DEPTH = 4;

function resolve(value: unknown, store: Store): unknown {
  if (typeof value === 'string') {
    const found = store.lookup(value);
    return found ? snapshot(found) : value;
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, store));
  return value;
}

function walk(node: unknown, segments: string[], path: string, store: Store): void {
  if (Array.isArray(node)) {
    for (const element of node) walk(element, segments, path, store);
    return;
  }
  if (!isRecord(node)) return;
  const [head, ...rest] = segments;
  if (head === undefined) return;
  const leaf = rest.length === 0;
  if (leaf && !EXPANDABLE.has(head)) throw errors.invalidParam('expand', `This property cannot be expanded (${path}).`);
  if (!(head in node)) {
    if (leaf) throw errors.invalidParam('expand', `This property cannot be expanded (${path}).`);
    return;
  }
  if (EXPANDABLE.has(head)) node[head] = resolve(node[head], store);
  if (!leaf) walk(node[head], rest, path, store);
}

/** Expands `paths` on `target` in place (pass a snapshot). */
export function expandPaths<T extends object>(target: T, paths: readonly string[] | undefined, store: Store): T {
  for (const path of paths ?? []) {
    const segments = path.split('.');
    if (segments.length > MAX_DEPTH) {
      throw errors.invalidParam('expand', `You cannot expand more than ${MAX_DEPTH} levels of a property. Property: ${path}`);
    }
    walk(target, segments, path, store);
  }
  return target;
}

/** Expands on a list: paths must start with `data.`, like Stripe requires. */
export function expandList<T extends object>(list: Stripe.ApiList<T>, paths: readonly string[] | undefined, store: Store): Stripe.ApiList<T> {
  for (const path of paths ?? []) {
    if (!path.startsWith('data.')) {
      throw errors.invalidParam(
        'expand',
        `This property cannot be expanded (${path}). You may want to try expanding 'data.${path}' instead.`,
      );
    }
    const inner = path.slice('data.'.length);
    for (const item of list.data) expandPaths(item, [inner], store);
  }
  return list;
}
