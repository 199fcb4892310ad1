/** Products, prices (and the plan view of a price that subscription items carry), meters. */
import type Stripe from 'stripe';
import { fixture, wireDecimal } from '../fixtures.ts';
import { idOf } from '../store.ts';

export interface ProductFields {
  name: string;
  description?: string | null;
  metadata?: Record<string, string>;
  active?: boolean;
  unit_label?: string | null;
}

export function buildProduct(id: string, created: number, fields: ProductFields): Stripe.Product {
  const p = fixture('product');
  p.id = id;
  p.created = created;
  p.updated = created;
  p.livemode = false;
  p.name = fields.name;
  p.description = fields.description ?? null;
  p.metadata = fields.metadata ?? {};
  p.active = fields.active ?? true;
  p.default_price = null;
  p.images = [];
  p.marketing_features = [];
  p.package_dimensions = null;
  p.shippable = null;
  p.statement_descriptor = null;
  p.tax_code = null;
  p.tax_details = null;
  p.unit_label = fields.unit_label ?? null;
  p.url = null;
  p.type = 'service';
  return p;
}

export interface PriceFields {
  product: string;
  currency: string;
  unit_amount: number;
  recurring: {
    interval: Stripe.Price.Recurring.Interval;
    interval_count: number;
    usage_type: Stripe.Price.Recurring.UsageType;
    meter: string | null;
  } | null;
  lookup_key?: string | null;
  nickname?: string | null;
  metadata?: Record<string, string>;
  active?: boolean;
}

export function buildPrice(id: string, created: number, fields: PriceFields): Stripe.Price {
  const p = fixture('price');
  p.id = id;
  p.created = created;
  p.livemode = false;
  p.active = fields.active ?? true;
  p.billing_scheme = 'per_unit';
  p.currency = fields.currency;
  p.custom_unit_amount = null;
  p.lookup_key = fields.lookup_key ?? null;
  p.metadata = fields.metadata ?? {};
  p.nickname = fields.nickname ?? null;
  p.product = fields.product;
  p.recurring = fields.recurring ? { ...fields.recurring, trial_period_days: null } : null;
  p.tax_behavior = 'unspecified';
  p.tiers_mode = null;
  p.transform_quantity = null;
  p.type = fields.recurring ? 'recurring' : 'one_time';
  p.unit_amount = fields.unit_amount;
  p.unit_amount_decimal = wireDecimal(fields.unit_amount);
  return p;
}

/** The legacy plan view of a recurring price, as subscription items still carry it. */
export function planFromPrice(price: Stripe.Price): Stripe.Plan {
  const plan = fixture('plan');
  const recurring = price.recurring;
  plan.id = price.id;
  plan.active = price.active;
  plan.amount = price.unit_amount;
  plan.amount_decimal = price.unit_amount_decimal;
  plan.billing_scheme = price.billing_scheme;
  plan.created = price.created;
  plan.currency = price.currency;
  plan.interval = recurring?.interval ?? 'month';
  plan.interval_count = recurring?.interval_count ?? 1;
  plan.livemode = false;
  plan.metadata = price.metadata;
  plan.meter = recurring?.meter ?? null;
  plan.nickname = price.nickname;
  plan.product = idOf(price.product);
  plan.tiers_mode = null;
  plan.transform_usage = null;
  plan.trial_period_days = null;
  plan.usage_type = recurring?.usage_type ?? 'licensed';
  return plan;
}

export interface MeterFields {
  display_name: string;
  event_name: string;
  formula: Stripe.Billing.Meter.DefaultAggregation.Formula;
}

export function buildMeter(id: string, created: number, fields: MeterFields): Stripe.Billing.Meter {
  const m = fixture('billing.meter');
  m.id = id;
  m.created = created;
  m.updated = created;
  m.livemode = false;
  m.display_name = fields.display_name;
  m.event_name = fields.event_name;
  m.default_aggregation = { formula: fields.formula };
  m.customer_mapping = { event_payload_key: 'stripe_customer_id', type: 'by_id' };
  m.value_settings = { event_payload_key: 'value' };
  m.event_time_window = null;
  m.status = 'active';
  m.status_transitions = { deactivated_at: null };
  return m;
}
