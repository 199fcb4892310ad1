/**
 * subscriptions.update with `items`: the change applied with Stripe's proration_behavior
 * (create_prorations: invoice items for the next invoice; always_invoice: an invoice now,
 * finalized and charged; none) and payment_behavior. With pending_if_incomplete a declined
 * charge leaves the items as they were and sets `pending_update`; paying that invoice later
 * applies the change (billing/invoices.ts), voiding it drops the change.
 */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import type { Emission } from '../events.ts';
import { snapshot } from '../fixtures.ts';
import { buildInvoice, type InvoiceLineFields } from '../objects/invoice.ts';
import { currentPeriod, setItems } from '../objects/subscription.ts';
import { find, idOf } from '../store.ts';
import { finalizeInvoice, markInvoicePaid, markPaymentFailed, takeDecline } from './invoices.ts';
import { keepAsInvoiceItems, planItemsChange, type ItemRequest, type ItemsChange, type ProrationBehavior } from './proration.ts';
import { subscriptionLines } from './subscriptions.ts';

export type PaymentBehavior = 'allow_incomplete' | 'default_incomplete' | 'error_if_incomplete' | 'pending_if_incomplete';

export interface ItemsUpdate {
  requests: ItemRequest[];
  behavior: ProrationBehavior;
  prorationDate: number;
  paymentBehavior: PaymentBehavior;
  /** billing_cycle_anchor=now. */
  resetAnchor?: boolean;
}

/** How long Stripe keeps a pending update open for payment, at most. */
export const PENDING_UPDATE_TTL = 23 * 3600;

/**
 * The lines of the invoice the change makes at once, or null when it makes none: with
 * always_invoice (when there is something to prorate), or whenever the period restarts
 * (a new interval), Stripe invoices now, sweeping the subscription's pending invoice items too.
 */
export function immediateLines(ctx: Ctx, sub: Stripe.Subscription, change: ItemsChange, behavior: ProrationBehavior): InvoiceLineFields[] | null {
  if (!change.newPeriod && !(behavior === 'always_invoice' && change.prorations.length > 0)) return null;
  const pending = ctx.store.pendingInvoiceItems.get(sub.id) ?? [];
  const lines = [...pending, ...change.prorations];
  if (change.newPeriod) {
    // The new period billed in full; metered usage so far in the old one billed with it.
    const old = currentPeriod(sub);
    const next: Stripe.Subscription = { ...snapshot(sub), items: { ...sub.items, data: change.items }, status: 'active' };
    lines.push(...subscriptionLines(ctx, next, change.newPeriod, { start: old.start, end: change.newPeriod.start }, false));
  }
  return lines;
}

/** Stripe's pending update; it expires at the trial's end or the period's end, whichever comes first, and at most 23 hours on (pending updates reference). */
function pendingUpdate(now: number, sub: Stripe.Subscription, change: ItemsChange): Stripe.Subscription.PendingUpdate {
  const expiresAt = Math.min(now + PENDING_UPDATE_TTL, currentPeriod(sub).end, sub.trial_end ?? Infinity);
  return {
    billing_cycle_anchor: change.newPeriod?.start ?? null,
    cancel_at_period_end: null,
    discount: null,
    discounts: null,
    expires_at: expiresAt,
    metadata: null,
    subscription_items: change.items.map((i) => snapshot(i)),
    trial_end: null,
    trial_from_plan: null,
  };
}

/**
 * Applies an items update to `sub` (no customer.subscription.updated: the caller emits one for
 * the whole request, after the invoice events). Throws a 402 card error, changing nothing, when
 * the charge is declined under error_if_incomplete.
 */
export function updateItems(ctx: Ctx, em: Emission, sub: Stripe.Subscription, update: ItemsUpdate): void {
  const change = planItemsChange(ctx, sub, update.requests, update.behavior, update.prorationDate, update.resetAnchor ?? false);
  const lines = immediateLines(ctx, sub, change, update.behavior);
  if (!lines) {
    if (update.behavior === 'create_prorations') keepAsInvoiceItems(ctx, sub.id, change.prorations);
    setItems(sub, change.items, null);
    return;
  }
  const now = ctx.clock.now();
  const customer = find(ctx.store.customers, idOf(sub.customer), 'customer', 'customer');
  const invoice = buildInvoice(now, { customer, subscription: sub, billingReason: 'subscription_update', lines, periodStart: now, periodEnd: now });
  const attempted = invoice.amount_due > 0 && update.paymentBehavior !== 'default_incomplete';
  const declined = attempted && takeDecline(ctx, customer.id);
  if (declined && update.paymentBehavior === 'error_if_incomplete') throw errors.cardDeclined();

  ctx.store.pendingInvoiceItems.delete(sub.id);
  ctx.store.invoices.set(invoice);
  sub.latest_invoice = invoice.id;
  ctx.bus.emit(em, 'invoice.created', invoice);
  finalizeInvoice(ctx, em, invoice);
  if (!declined) {
    setItems(sub, change.items, change.newPeriod);
    if (invoice.amount_due === 0 || attempted) markInvoicePaid(ctx, em, invoice);
    return;
  }
  markPaymentFailed(ctx, em, invoice);
  if (update.paymentBehavior === 'pending_if_incomplete') {
    // The subscription carries on as it was; the change waits for this invoice.
    sub.pending_update = pendingUpdate(now, sub, change);
    ctx.store.pendingItems.set(sub.id, { items: change.items, newPeriod: change.newPeriod });
    return;
  }
  setItems(sub, change.items, change.newPeriod);
  if (sub.status === 'active') sub.status = 'past_due';
}
