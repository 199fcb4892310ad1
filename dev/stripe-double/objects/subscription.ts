import type Stripe from 'stripe';
import { fixture, snapshot } from '../fixtures.ts';
import { newId } from '../ids.ts';
import { planFromPrice } from './catalog.ts';

export interface ItemFields {
  price: Stripe.Price;
  quantity: number;
  metadata?: Record<string, string>;
  periodStart: number;
  periodEnd: number;
}

export function isMetered(price: Stripe.Price): boolean {
  return price.recurring?.usage_type === 'metered';
}

export function buildSubscriptionItem(subscriptionId: string, created: number, fields: ItemFields): Stripe.SubscriptionItem {
  const item = fixture('subscription_item');
  item.id = newId.subscriptionItem();
  item.created = created;
  item.subscription = subscriptionId;
  item.price = snapshot(fields.price);
  item.plan = planFromPrice(fields.price);
  item.metadata = fields.metadata ?? {};
  item.discounts = [];
  item.tax_rates = [];
  item.billing_thresholds = null;
  item.current_trial = null;
  item.current_period_start = fields.periodStart;
  item.current_period_end = fields.periodEnd;
  // Stripe shows no quantity on metered items: usage comes from the meter.
  if (isMetered(fields.price)) delete item.quantity;
  else item.quantity = fields.quantity;
  return item;
}

export interface SubscriptionFields {
  customer: string;
  status: Stripe.Subscription.Status;
  items: ItemFields[];
  metadata?: Record<string, string>;
  description?: string | null;
  trialStart?: number | null;
  trialEnd?: number | null;
  billingCycleAnchor: number;
  automaticTax?: boolean;
  currency: string;
  defaultPaymentMethod?: string | null;
}

export function buildSubscription(created: number, fields: SubscriptionFields): Stripe.Subscription {
  const s = fixture('subscription');
  const id = newId.subscription();
  s.id = id;
  s.created = created;
  s.start_date = created;
  s.livemode = false;
  s.customer = fields.customer;
  s.status = fields.status;
  s.metadata = fields.metadata ?? {};
  s.description = fields.description ?? null;
  s.currency = fields.currency;
  s.application = null;
  s.application_fee_percent = null;
  s.automatic_tax = fields.automaticTax
    ? { enabled: true, liability: { type: 'self' }, disabled_reason: null }
    : { enabled: false, liability: null, disabled_reason: null };
  s.billing_cycle_anchor = fields.billingCycleAnchor;
  s.billing_cycle_anchor_config = null;
  s.billing_mode = { type: 'flexible', flexible: { proration_discounts: 'itemized' }, updated_at: created };
  s.billing_schedules = [];
  s.billing_thresholds = null;
  s.cancel_at = null;
  s.cancel_at_period_end = false;
  s.canceled_at = null;
  s.cancellation_details = { comment: null, feedback: null, feedback_option: null, reason: null };
  s.collection_method = 'charge_automatically';
  s.customer_account = null;
  s.days_until_due = null;
  s.default_payment_method = fields.defaultPaymentMethod ?? null;
  s.default_source = null;
  s.default_tax_rates = [];
  s.discounts = [];
  s.ended_at = null;
  s.invoice_settings = { account_tax_ids: null, custom_fields: null, description: null, footer: null, issuer: { type: 'self' } };
  s.items = {
    object: 'list',
    data: fields.items.map((f) => buildSubscriptionItem(id, created, f)),
    has_more: false,
    url: `/v1/subscription_items?subscription=${id}`,
  };
  s.latest_invoice = null;
  s.managed_payments = null;
  s.next_pending_invoice_item_invoice = null;
  s.on_behalf_of = null;
  s.pause_collection = null;
  s.payment_settings = { payment_method_options: null, payment_method_types: null, save_default_payment_method: 'off' };
  s.pending_invoice_item_interval = null;
  s.pending_setup_intent = null;
  s.pending_update = null;
  s.schedule = null;
  s.test_clock = null;
  s.transfer_data = null;
  s.trial_start = fields.trialStart ?? null;
  s.trial_end = fields.trialEnd ?? null;
  s.trial_settings = { end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' } };
  return s;
}

/** The current period, read from the items (where API 2025-03-31 and later keep it). */
export function currentPeriod(sub: Stripe.Subscription): { start: number; end: number } {
  const first = sub.items.data[0];
  if (!first) throw new Error(`subscription ${sub.id} has no items`);
  return { start: first.current_period_start, end: first.current_period_end };
}

/** Puts `items` on the subscription; a new period (after an interval change) moves its billing cycle anchor too. */
export function setItems(sub: Stripe.Subscription, items: Stripe.SubscriptionItem[], newPeriod: { start: number; end: number } | null): void {
  sub.items.data = items.map((i) => snapshot(i));
  if (newPeriod) sub.billing_cycle_anchor = newPeriod.start;
}
