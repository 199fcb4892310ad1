/** Subscription lifecycle: creation with its first invoice, renewals, trials, cancellation, pause/resume. */
import type Stripe from 'stripe';
import { addInterval, intervalOf, nextBoundary } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import type { Emission } from '../events.ts';
import { snapshot } from '../fixtures.ts';
import { buildInvoice, lineDescription, type InvoiceLineFields } from '../objects/invoice.ts';
import { buildSubscription, currentPeriod, isMetered } from '../objects/subscription.ts';
import { find, idOf, productName } from '../store.ts';
import { dropPendingUpdate, failInvoice, finalizeInvoice, markInvoicePaid, payInvoice, takeDecline, voidInvoice } from './invoices.ts';
import { usage } from './metering.ts';
import { itemsInterval } from './proration.ts';
import { advanceSchedule, onSubscriptionEnded } from './schedules.ts';

export interface NewItem {
  price: Stripe.Price;
  quantity: number;
  metadata?: Record<string, string>;
}

/** What happens to the first payment: charged fine, declined, or left open (payment_behavior=default_incomplete). */
export type FirstPayment = 'succeeds' | 'fails' | 'not_attempted';

export interface CreateSubscriptionInput {
  customer: Stripe.Customer;
  items: NewItem[];
  metadata?: Record<string, string>;
  description?: string | null;
  trialEnd?: number | null;
  automaticTax?: boolean;
  firstPayment: FirstPayment;
  defaultPaymentMethod?: string | null;
  cancelAtPeriodEnd?: boolean;
}

export interface InvoicedSubscription {
  subscription: Stripe.Subscription;
  invoice?: Stripe.Invoice;
}

function customerOf(ctx: Ctx, sub: Stripe.Subscription): Stripe.Customer {
  return find(ctx.store.customers, idOf(sub.customer), 'customer', 'customer');
}

/**
 * Invoice lines for `sub`: licensed items billed in advance for `period`, metered
 * items billed in arrears for the usage recorded in `usagePeriod` (none on a first invoice).
 */
export function subscriptionLines(
  ctx: Ctx,
  sub: Stripe.Subscription,
  period: { start: number; end: number },
  usagePeriod: { start: number; end: number } | null,
  trial: boolean,
): InvoiceLineFields[] {
  const customer = idOf(sub.customer);
  return sub.items.data.map((item) => {
    const price = item.price;
    const name = productName(ctx.store, price);
    if (isMetered(price)) {
      const meter = price.recurring?.meter ?? null;
      const used = usagePeriod && meter ? usage(ctx.store, meter, customer, usagePeriod.start, usagePeriod.end) : 0;
      const p = usagePeriod ?? period;
      return {
        price,
        quantity: used,
        amount: Math.round(used * (price.unit_amount ?? 0)),
        description: lineDescription(used, name, price, false),
        periodStart: p.start,
        periodEnd: p.end,
        subscription: sub.id,
        subscriptionItem: item.id,
      };
    }
    const quantity = item.quantity ?? 1;
    return {
      price,
      quantity,
      amount: trial ? 0 : quantity * (price.unit_amount ?? 0),
      description: lineDescription(quantity, name, price, trial),
      periodStart: period.start,
      periodEnd: period.end,
      subscription: sub.id,
      subscriptionItem: item.id,
    };
  });
}

/**
 * customer.subscription.created, invoice.created, invoice.finalized, then
 * invoice.paid + invoice.payment_succeeded and customer.subscription.updated
 * (incomplete -> active), or invoice.payment_failed. Trials start as trialing with a $0 invoice.
 */
export function createSubscription(ctx: Ctx, em: Emission, input: CreateSubscriptionInput): Required<InvoicedSubscription> {
  const now = ctx.clock.now();
  const first = input.items[0];
  if (!first) throw errors.missingParam('items');
  const trialEnd = input.trialEnd ?? null;
  const periodEnd = trialEnd ?? addInterval(now, intervalOf(first.price.recurring));
  const sub = buildSubscription(now, {
    customer: input.customer.id,
    status: trialEnd ? 'trialing' : 'incomplete',
    items: input.items.map((i) => ({ ...i, periodStart: now, periodEnd })),
    metadata: input.metadata ?? {},
    description: input.description ?? null,
    trialStart: trialEnd ? now : null,
    trialEnd,
    billingCycleAnchor: trialEnd ?? now,
    automaticTax: input.automaticTax ?? false,
    currency: first.price.currency,
    defaultPaymentMethod: input.defaultPaymentMethod ?? null,
  });
  if (input.cancelAtPeriodEnd) applyScheduleCancel(ctx, sub, true);
  input.customer.currency = input.customer.currency ?? sub.currency;
  const invoice = buildInvoice(now, {
    customer: input.customer,
    subscription: sub,
    billingReason: 'subscription_create',
    lines: subscriptionLines(ctx, sub, { start: now, end: periodEnd }, null, trialEnd !== null),
    periodStart: now,
    periodEnd: now,
  });
  sub.latest_invoice = invoice.id;
  ctx.store.subscriptions.set(sub);
  ctx.store.invoices.set(invoice);

  ctx.bus.emit(em, 'customer.subscription.created', sub);
  ctx.bus.emit(em, 'invoice.created', invoice);
  finalizeInvoice(ctx, em, invoice);
  const declined = input.firstPayment === 'fails' || (input.firstPayment === 'succeeds' && invoice.amount_due > 0 && takeDecline(ctx, input.customer.id));
  if (invoice.amount_due === 0 || (input.firstPayment === 'succeeds' && !declined)) payInvoice(ctx, em, invoice);
  else if (declined) failInvoice(ctx, em, invoice);
  return { subscription: sub, invoice };
}

/**
 * The renewal of `sub` at the end of its period `old`: the next period, and the invoice lines
 * (proration invoice items kept for it first, then the items: licensed in advance for the next
 * period, metered in arrears for the one ending). Renewals and previews share it.
 */
export function renewalLines(
  ctx: Ctx,
  sub: Stripe.Subscription,
  old: { start: number; end: number },
  morePending: readonly InvoiceLineFields[] = [],
): { next: { start: number; end: number }; lines: InvoiceLineFields[] } {
  const wasTrial = sub.status === 'trialing';
  const next = { start: old.end, end: nextBoundary(sub.billing_cycle_anchor, old.end, itemsInterval(sub.items.data)) };
  const pending = ctx.store.pendingInvoiceItems.get(sub.id) ?? [];
  return { next, lines: [...pending, ...morePending, ...subscriptionLines(ctx, sub, next, wasTrial ? null : old, false)] };
}

function requireLive(sub: Stripe.Subscription): void {
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
    throw errors.badRequest('A canceled subscription can only update its cancellation_details and metadata.');
  }
}

/** The subscription reaches its scheduled end: customer.subscription.deleted. */
function endAt(ctx: Ctx, em: Emission, sub: Stripe.Subscription, at: number): void {
  sub.status = 'canceled';
  sub.ended_at = at;
  sub.canceled_at = sub.canceled_at ?? at;
  ctx.bus.emit(em, 'customer.subscription.deleted', sub);
  // A schedule with end_behavior=cancel ends it: the schedule completes.
  onSubscriptionEnded(ctx, em, sub, true);
}

/** A pending update not paid within its 23 hours expires: its invoice is voided, the update dropped. */
function expirePendingUpdate(ctx: Ctx, em: Emission, sub: Stripe.Subscription): void {
  if (!sub.pending_update || sub.pending_update.expires_at > ctx.clock.now()) return;
  const inv = sub.latest_invoice ? ctx.store.invoices.get(idOf(sub.latest_invoice)) : undefined;
  if (inv && inv.status === 'open') voidInvoice(ctx, em, inv);
  if (sub.pending_update) {
    const before = snapshot(sub);
    dropPendingUpdate(ctx, sub);
    ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
  }
}

/**
 * Moves the clock to the end of the current period and starts the next one:
 * invoice.created, customer.subscription.updated, invoice.finalized, then paid
 * (invoice.paid, invoice.payment_succeeded) or failed (invoice.payment_failed,
 * customer.subscription.updated to past_due). A trial ending goes through here too.
 * A subscription set to cancel at the period end is canceled instead.
 */
export function renewPeriod(ctx: Ctx, em: Emission, sub: Stripe.Subscription, paymentFails: boolean): InvoicedSubscription {
  if (!['active', 'trialing', 'past_due', 'unpaid'].includes(sub.status)) {
    throw errors.badRequest(`A subscription with status ${sub.status} does not renew.`);
  }
  const old = currentPeriod(sub);
  ctx.clock.advanceTo(old.end);
  expirePendingUpdate(ctx, em, sub);
  if (sub.cancel_at_period_end || (sub.cancel_at !== null && sub.cancel_at <= old.end)) {
    endAt(ctx, em, sub, old.end);
    return { subscription: sub };
  }
  // A schedule's next phase starts with the new period: its items are what the renewal bills.
  advanceSchedule(ctx, em, sub, old.end);
  const now = ctx.clock.now();
  const before = snapshot(sub);
  const wasTrial = sub.status === 'trialing';
  const { next, lines } = renewalLines(ctx, sub, old);
  ctx.store.pendingInvoiceItems.delete(sub.id);
  for (const item of sub.items.data) {
    item.current_period_start = next.start;
    item.current_period_end = next.end;
  }
  if (wasTrial) sub.status = 'active';
  const invoice = buildInvoice(now, {
    customer: customerOf(ctx, sub),
    subscription: sub,
    billingReason: 'subscription_cycle',
    lines,
    periodStart: old.start,
    periodEnd: old.end,
  });
  sub.latest_invoice = invoice.id;
  ctx.store.invoices.set(invoice);

  ctx.bus.emit(em, 'invoice.created', invoice);
  ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
  finalizeInvoice(ctx, em, invoice);
  const declined = invoice.amount_due > 0 && (paymentFails || takeDecline(ctx, sub.customer));
  if (!declined) payInvoice(ctx, em, invoice);
  else failInvoice(ctx, em, invoice);
  return { subscription: sub, invoice };
}

export interface CancellationInput {
  comment?: string | null;
  feedback?: Stripe.Subscription.CancellationDetails.Feedback | null;
}

/** Sets (true) or clears (false) cancel_at_period_end, without emitting (callers emit one updated event). */
export function applyScheduleCancel(ctx: Ctx, sub: Stripe.Subscription, atPeriodEnd: boolean, details: CancellationInput = {}): void {
  requireLive(sub);
  if (atPeriodEnd) {
    sub.cancel_at_period_end = true;
    sub.cancel_at = currentPeriod(sub).end;
    sub.canceled_at = ctx.clock.now();
    sub.cancellation_details = {
      comment: details.comment ?? null,
      feedback: details.feedback ?? null,
      feedback_option: null,
      reason: 'cancellation_requested',
    };
  } else {
    sub.cancel_at_period_end = false;
    sub.cancel_at = null;
    sub.canceled_at = null;
    sub.cancellation_details = { comment: null, feedback: null, feedback_option: null, reason: null };
  }
}

/** Sets (true) or clears (false) cancel_at_period_end: customer.subscription.updated with previous_attributes. */
export function scheduleCancel(ctx: Ctx, em: Emission, sub: Stripe.Subscription, atPeriodEnd: boolean, details: CancellationInput = {}): void {
  const before = snapshot(sub);
  applyScheduleCancel(ctx, sub, atPeriodEnd, details);
  ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
}

/** Schedules the end at a timestamp (cancel_at), or clears it with null; no event (callers emit). */
export function applyCancelAt(ctx: Ctx, sub: Stripe.Subscription, at: number | null): void {
  requireLive(sub);
  sub.cancel_at = at;
  sub.cancel_at_period_end = at !== null && at === currentPeriod(sub).end;
  sub.canceled_at = at === null ? null : ctx.clock.now();
  sub.cancellation_details = {
    comment: null,
    feedback: null,
    feedback_option: null,
    reason: at === null ? null : 'cancellation_requested',
  };
}

/** Cancels right away: status canceled, ended_at and canceled_at now, customer.subscription.deleted. */
export function cancelNow(ctx: Ctx, em: Emission, sub: Stripe.Subscription, details: CancellationInput = {}): void {
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
    // What Stripe answers for cancelling a canceled subscription.
    throw errors.notFound('subscription', sub.id);
  }
  const now = ctx.clock.now();
  sub.status = 'canceled';
  sub.canceled_at = now;
  sub.ended_at = now;
  sub.cancellation_details = {
    comment: details.comment ?? sub.cancellation_details?.comment ?? null,
    feedback: details.feedback ?? sub.cancellation_details?.feedback ?? null,
    feedback_option: null,
    reason: 'cancellation_requested',
  };
  ctx.bus.emit(em, 'customer.subscription.deleted', sub);
  onSubscriptionEnded(ctx, em, sub, false);
}

/** customer.subscription.trial_will_end (Stripe sends it three days before a trial ends). */
export function trialWillEnd(ctx: Ctx, em: Emission, sub: Stripe.Subscription): void {
  if (sub.status !== 'trialing') throw errors.badRequest(`Subscription ${sub.id} is not trialing (status ${sub.status}).`);
  ctx.bus.emit(em, 'customer.subscription.trial_will_end', sub);
}

/** Status paused (as when a trial ends without a payment method): customer.subscription.updated, customer.subscription.paused. */
export function pause(ctx: Ctx, em: Emission, sub: Stripe.Subscription): void {
  if (!['trialing', 'active', 'past_due'].includes(sub.status)) {
    throw errors.badRequest(`Subscription ${sub.id} cannot be paused from status ${sub.status}.`);
  }
  const before = snapshot(sub);
  sub.status = 'paused';
  ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
  ctx.bus.emit(em, 'customer.subscription.paused', sub);
}

/**
 * Resumes a paused subscription with a new period starting now (billing_cycle_anchor=now)
 * and a paid invoice for it; customer.subscription.resumed, customer.subscription.updated.
 */
export function resume(ctx: Ctx, em: Emission, sub: Stripe.Subscription): InvoicedSubscription {
  if (sub.status !== 'paused') throw errors.badRequest('Subscription is not paused, so it cannot be resumed.');
  const now = ctx.clock.now();
  const before = snapshot(sub);
  const period = { start: now, end: addInterval(now, itemsInterval(sub.items.data)) };
  for (const item of sub.items.data) {
    item.current_period_start = period.start;
    item.current_period_end = period.end;
  }
  sub.billing_cycle_anchor = now;
  sub.status = 'active';
  const invoice = buildInvoice(now, {
    customer: customerOf(ctx, sub),
    subscription: sub,
    billingReason: 'subscription_update',
    lines: subscriptionLines(ctx, sub, period, null, false),
    periodStart: now,
    periodEnd: now,
  });
  sub.latest_invoice = invoice.id;
  ctx.store.invoices.set(invoice);
  ctx.bus.emit(em, 'invoice.created', invoice);
  finalizeInvoice(ctx, em, invoice);
  markInvoicePaid(ctx, em, invoice);
  ctx.bus.emit(em, 'customer.subscription.resumed', sub);
  ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
  return { subscription: sub, invoice };
}

export { requireLive };
