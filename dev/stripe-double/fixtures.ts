/**
 * Stripe's published example objects (fixtures3.json from stripe/openapi, MIT; see
 * fixtures/LICENSE). Every object the double returns starts as a deep clone of one
 * of these and has its ids, timestamps and values overwritten, so the shapes (the
 * set of keys, the nesting) stay Stripe's own.
 */
import { readFileSync } from 'node:fs';
import type Stripe from 'stripe';

export interface FixtureTypes {
  customer: Stripe.Customer;
  deleted_customer: Stripe.DeletedCustomer;
  product: Stripe.Product;
  price: Stripe.Price;
  plan: Stripe.Plan;
  subscription: Stripe.Subscription;
  subscription_item: Stripe.SubscriptionItem;
  subscription_schedule: Stripe.SubscriptionSchedule;
  invoice: Stripe.Invoice;
  /** An invoice line item (object: 'line_item'). */
  line_item: Stripe.InvoiceLineItem;
  'checkout.session': Stripe.Checkout.Session;
  /** A Checkout Session line item (object: 'item'). */
  item: Stripe.LineItem;
  'billing_portal.session': Stripe.BillingPortal.Session;
  'billing_portal.configuration': Stripe.BillingPortal.Configuration;
  'entitlements.feature': Stripe.Entitlements.Feature;
  product_feature: Stripe.ProductFeature;
  'billing.meter': Stripe.Billing.Meter;
  'billing.meter_event': Stripe.Billing.MeterEvent;
  'billing.meter_event_summary': Stripe.Billing.MeterEventSummary;
  event: Stripe.Event;
}

export type FixtureName = keyof FixtureTypes;

interface FixtureFile {
  resources: Record<string, unknown>;
}

let cache: FixtureFile | undefined;

function load(): FixtureFile {
  if (!cache) {
    const text = readFileSync(new URL('./fixtures/fixtures3.json', import.meta.url), 'utf8');
    cache = JSON.parse(text) as FixtureFile;
  }
  return cache;
}

/**
 * Keys an example still has that the pinned API version removed: `invoice.subscription` went in
 * 2025-03-31.basil (the subscription is `invoice.parent.subscription_details.subscription`).
 * Each is absent from the stripe-node type.
 */
export const REMOVED_KEYS: Partial<Record<FixtureName, readonly string[]>> = {
  invoice: ['subscription'],
};

/** A fresh deep clone of Stripe's example object `name` (less REMOVED_KEYS), typed as stripe-node's type for it. */
export function fixture<K extends FixtureName>(name: K): FixtureTypes[K] {
  const raw = load().resources[name];
  if (typeof raw !== 'object' || raw === null) throw new Error(`fixtures3.json has no resource '${name}'`);
  // The one unchecked step: the published example is, by construction, an object of this type.
  const clone = structuredClone(raw) as FixtureTypes[K];
  for (const key of REMOVED_KEYS[name] ?? []) Reflect.deleteProperty(clone, key);
  return clone;
}

/** Top-level keys of the example object `name`, less REMOVED_KEYS (the test suite compares the double's objects against these). */
export function fixtureKeys(name: FixtureName): string[] {
  return Object.keys(fixture(name)).sort();
}

/**
 * Keys the double adds on top of an example, because the pinned API version
 * (stripe-node 23, 2026-10-28.endive) has them as required fields and the example
 * predates them. Each is a non-optional property of the stripe-node type.
 */
export const ADDED_KEYS: Partial<Record<FixtureName, readonly string[]>> = {
  'checkout.session': ['allowed_payment_method_types'],
  product: ['tax_details'],
  subscription_item: ['current_trial'],
  subscription_schedule: ['pause_schedules'],
};

/**
 * Keys the double omits from an example in some states, like Stripe does:
 * metered subscription items carry no `quantity`.
 */
export const OPTIONAL_KEYS: Partial<Record<FixtureName, readonly string[]>> = {
  subscription_item: ['quantity'],
};

/** Stripe sends decimals as strings; stripe-node turns them into its Decimal type on the client. */
export function wireDecimal(value: number | string): Stripe.Decimal {
  return String(value) as unknown as Stripe.Decimal;
}

/** Deep copy of a stored object: what goes into responses and event payloads. */
export function snapshot<T>(value: T): T {
  return structuredClone(value);
}
