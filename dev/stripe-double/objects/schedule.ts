/** Subscription schedules and their phases, built from Stripe's example object. */
import type Stripe from 'stripe';
import { fixture } from '../fixtures.ts';
import { newId } from '../ids.ts';
import { isMetered } from './subscription.ts';

export interface PhaseItemFields {
  price: Stripe.Price;
  quantity: number;
  metadata?: Record<string, string>;
}

export interface PhaseFields {
  start: number;
  end: number;
  items: PhaseItemFields[];
  currency: string;
  prorationBehavior: Stripe.SubscriptionSchedule.Phase.ProrationBehavior;
  metadata?: Record<string, string>;
}

export function buildPhase(fields: PhaseFields): Stripe.SubscriptionSchedule.Phase {
  const template = fixture('subscription_schedule').phases[0];
  if (!template) throw new Error('fixtures3.json: subscription_schedule has no phase');
  const phase: Stripe.SubscriptionSchedule.Phase = {
    ...template,
    add_invoice_items: [],
    application_fee_percent: null,
    billing_cycle_anchor: null,
    billing_thresholds: null,
    collection_method: null,
    currency: fields.currency,
    default_payment_method: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    end_date: fields.end,
    invoice_settings: null,
    // Phases name prices (and their plans) by id; `expand[]=phases.items.price` gives the objects.
    items: fields.items.map((i) => ({
      billing_thresholds: null,
      discounts: [],
      metadata: i.metadata ?? {},
      plan: i.price.id,
      price: i.price.id,
      // Like subscription items, metered ones have no quantity.
      ...(isMetered(i.price) ? {} : { quantity: i.quantity }),
      tax_rates: [],
    })),
    metadata: fields.metadata ?? {},
    on_behalf_of: null,
    proration_behavior: fields.prorationBehavior,
    start_date: fields.start,
    transfer_data: null,
    trial_end: null,
  };
  return phase;
}

export interface ScheduleFields {
  customer: string;
  subscription: string | null;
  phases: Stripe.SubscriptionSchedule.Phase[];
  endBehavior: Stripe.SubscriptionSchedule.EndBehavior;
  status: Stripe.SubscriptionSchedule.Status;
  metadata?: Record<string, string>;
}

export function buildSchedule(created: number, fields: ScheduleFields): Stripe.SubscriptionSchedule {
  const s = fixture('subscription_schedule');
  s.id = newId.subscriptionSchedule();
  s.created = created;
  s.livemode = false;
  s.application = null;
  s.billing_mode = { type: 'flexible', flexible: { proration_discounts: 'itemized' }, updated_at: created };
  s.canceled_at = null;
  s.completed_at = null;
  s.customer = fields.customer;
  s.customer_account = null;
  s.default_settings = {
    application_fee_percent: null,
    automatic_tax: { enabled: false, liability: null, disabled_reason: null },
    billing_cycle_anchor: 'automatic',
    billing_thresholds: null,
    collection_method: 'charge_automatically',
    default_payment_method: null,
    description: null,
    invoice_settings: { account_tax_ids: null, custom_fields: null, days_until_due: null, description: null, footer: null, issuer: { type: 'self' } },
    on_behalf_of: null,
    transfer_data: null,
  };
  s.end_behavior = fields.endBehavior;
  s.metadata = fields.metadata ?? {};
  s.pause_schedules = [];
  s.phases = fields.phases;
  s.released_at = null;
  s.released_subscription = null;
  s.status = fields.status;
  s.subscription = fields.subscription;
  s.test_clock = null;
  s.current_phase = null;
  return s;
}
