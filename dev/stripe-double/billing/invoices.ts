/** Invoice lifecycle: draft -> open (finalized) -> paid, or failed payment attempts. */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import type { Emission } from '../events.ts';
import { snapshot } from '../fixtures.ts';
import { setItems } from '../objects/subscription.ts';
import { idOf } from '../store.ts';

/** Smart Retries' first retry comes a few days later; the double uses 3 days. */
const RETRY_AFTER = 3 * 86_400;

export function invoiceSubscriptionId(inv: Stripe.Invoice): string | null {
  const sub = inv.parent?.subscription_details?.subscription;
  return sub ? idOf(sub) : null;
}

export function finalizeInvoice(ctx: Ctx, em: Emission, inv: Stripe.Invoice): void {
  const now = ctx.clock.now();
  const customer = inv.customer ? ctx.store.customers.get(idOf(inv.customer)) : undefined;
  const seq = customer?.next_invoice_sequence ?? 1;
  if (customer) customer.next_invoice_sequence = seq + 1;
  inv.status = 'open';
  inv.number = `${customer?.invoice_prefix ?? 'DOUBLE'}-${String(seq).padStart(4, '0')}`;
  inv.effective_at = now;
  // What the invoice leaves on the balance: a credit when it totals less than nothing.
  inv.ending_balance = Math.min(0, inv.total + inv.starting_balance);
  if (customer) customer.balance = inv.ending_balance;
  inv.automatically_finalizes_at = null;
  inv.status_transitions.finalized_at = now;
  inv.hosted_invoice_url = ctx.urls.invoice(inv.id);
  inv.invoice_pdf = `${ctx.urls.invoice(inv.id)}/pdf`;
  inv.next_payment_attempt = inv.amount_due > 0 ? now : null;
  ctx.bus.emit(em, 'invoice.finalized', inv);
}

/** Marks an open invoice paid: invoice.paid, then invoice.payment_succeeded. */
export function markInvoicePaid(ctx: Ctx, em: Emission, inv: Stripe.Invoice): void {
  const now = ctx.clock.now();
  if (inv.amount_due > 0) {
    inv.attempt_count += 1;
    inv.attempted = true;
  }
  inv.status = 'paid';
  inv.amount_paid = inv.amount_due;
  inv.amount_remaining = 0;
  inv.auto_advance = false;
  inv.next_payment_attempt = null;
  inv.status_transitions.paid_at = now;
  inv.webhooks_delivered_at = inv.webhooks_delivered_at ?? now;
  ctx.bus.emit(em, 'invoice.paid', inv);
  ctx.bus.emit(em, 'invoice.payment_succeeded', inv);
}

/** A failed payment attempt: the invoice stays open, with a retry scheduled. */
export function markPaymentFailed(ctx: Ctx, em: Emission, inv: Stripe.Invoice): void {
  const now = ctx.clock.now();
  inv.attempt_count += 1;
  inv.attempted = true;
  inv.next_payment_attempt = now + RETRY_AFTER;
  inv.webhooks_delivered_at = inv.webhooks_delivered_at ?? now;
  ctx.bus.emit(em, 'invoice.payment_failed', inv);
}

export function requireOpenInvoice(inv: Stripe.Invoice): void {
  if (inv.status === 'paid') throw errors.badRequest('Invoice is already paid');
  if (inv.status !== 'open') throw errors.badRequest(`You can only pay an open invoice. This invoice is ${inv.status}.`);
}

/** Pays an open invoice and brings its subscription back to active (past_due/incomplete/unpaid -> active). */
export function payInvoice(ctx: Ctx, em: Emission, inv: Stripe.Invoice): Stripe.Subscription | undefined {
  requireOpenInvoice(inv);
  markInvoicePaid(ctx, em, inv);
  const sub = subscriptionOf(ctx, inv);
  if (!sub || sub.latest_invoice !== inv.id) return sub;
  const before = snapshot(sub);
  if (['past_due', 'incomplete', 'unpaid'].includes(sub.status)) sub.status = 'active';
  // The update this invoice was for (payment_behavior=pending_if_incomplete) takes effect.
  const pending = ctx.store.pendingItems.get(sub.id);
  if (sub.pending_update && pending) {
    setItems(sub, pending.items, pending.newPeriod);
    sub.pending_update = null;
    ctx.store.pendingItems.delete(sub.id);
  }
  ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
  return sub;
}

function subscriptionOf(ctx: Ctx, inv: Stripe.Invoice): Stripe.Subscription | undefined {
  const subId = invoiceSubscriptionId(inv);
  return subId ? ctx.store.subscriptions.get(subId) : undefined;
}

/** Drops a subscription's pending update (its invoice voided or expired), without emitting. */
export function dropPendingUpdate(ctx: Ctx, sub: Stripe.Subscription): void {
  sub.pending_update = null;
  ctx.store.pendingItems.delete(sub.id);
}

/** Voids an open invoice: invoice.voided; a pending update waiting for it is dropped (customer.subscription.updated). */
export function voidInvoice(ctx: Ctx, em: Emission, inv: Stripe.Invoice): Stripe.Subscription | undefined {
  if (inv.status !== 'open' && inv.status !== 'draft') throw errors.badRequest(`You can only void an open invoice. This invoice is ${inv.status}.`);
  inv.status = 'void';
  inv.amount_remaining = 0;
  inv.next_payment_attempt = null;
  inv.auto_advance = false;
  inv.status_transitions.voided_at = ctx.clock.now();
  ctx.bus.emit(em, 'invoice.voided', inv);
  const sub = subscriptionOf(ctx, inv);
  if (sub && sub.pending_update && sub.latest_invoice === inv.id) {
    const before = snapshot(sub);
    dropPendingUpdate(ctx, sub);
    ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
  }
  return sub;
}

/** A failed attempt on an open invoice: an active subscription whose latest invoice it is becomes past_due. */
export function failInvoice(ctx: Ctx, em: Emission, inv: Stripe.Invoice): Stripe.Subscription | undefined {
  if (inv.status !== 'open') throw errors.badRequest(`Only open invoices can fail payment. This invoice is ${inv.status}.`);
  markPaymentFailed(ctx, em, inv);
  const sub = subscriptionOf(ctx, inv);
  // A pending update's invoice failing leaves the subscription as it was (not past_due).
  if (sub && sub.latest_invoice === inv.id && sub.status === 'active' && !sub.pending_update) {
    const before = snapshot(sub);
    sub.status = 'past_due';
    ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
  }
  return sub;
}

/** Whether this payment attempt by `customer` is declined: the one-off switch `nextPaymentFails` set, used up here. */
export function takeDecline(ctx: Ctx, customer: string | Stripe.Customer | Stripe.DeletedCustomer | null): boolean {
  if (customer === null) return false;
  return ctx.store.declineNextPayment.delete(idOf(customer));
}
