/**
 * invoices.createPreview for a subscription: the invoice Stripe would create, built by the same
 * code as the real one, so a preview with the same items, proration_behavior and proration_date
 * equals the invoice to the cent.
 * - A change invoiced at once (always_invoice with prorations, or a new billing interval):
 *   that invoice (pending invoice items, prorations, the new period if it restarts).
 * - Otherwise (create_prorations, none, or no change): the renewal at the period's end, with the
 *   new items (or the items of a schedule phase starting then), the pending invoice items and,
 *   with create_prorations, this change's prorations.
 */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { snapshot } from '../fixtures.ts';
import { newId, randomAlnum } from '../ids.ts';
import { buildInvoice } from '../objects/invoice.ts';
import { currentPeriod, setItems } from '../objects/subscription.ts';
import { find, idOf } from '../store.ts';
import { immediateLines } from './plan-change.ts';
import { planItemsChange, type ItemRequest, type ProrationBehavior } from './proration.ts';
import { subscriptionAtPhaseChange } from './schedules.ts';
import { renewalLines } from './subscriptions.ts';

export interface PreviewInput {
  sub: Stripe.Subscription;
  /** subscription_details[items], ids resolved; undefined: no change. */
  requests?: ItemRequest[];
  behavior: ProrationBehavior;
  prorationDate: number;
  /** billing_cycle_anchor=now. */
  resetAnchor?: boolean;
}

/** Marks a built invoice as a preview: an `upcoming_` id, lines that are not stored anywhere. */
function asPreview(inv: Stripe.Invoice): Stripe.Invoice {
  inv.id = newId.upcomingInvoice();
  for (const line of inv.lines.data) {
    line.id = `il_tmp_1${randomAlnum(23)}`;
    line.invoice = inv.id;
  }
  inv.lines.url = '/v1/invoices/upcoming/lines';
  return inv;
}

export function previewInvoice(ctx: Ctx, input: PreviewInput): Stripe.Invoice {
  const { sub, behavior } = input;
  const now = ctx.clock.now();
  const customer = find(ctx.store.customers, idOf(sub.customer), 'customer', 'customer');
  const requests = input.requests ?? (input.resetAnchor ? [] : undefined);
  const change = requests ? planItemsChange(ctx, sub, requests, behavior, input.prorationDate, input.resetAnchor ?? false) : null;
  const immediate = change && immediateLines(ctx, sub, change, behavior);
  if (change && immediate) {
    const inv = buildInvoice(now, { customer, subscription: sub, billingReason: 'subscription_update', lines: immediate, periodStart: now, periodEnd: now });
    inv.next_payment_attempt = inv.amount_due > 0 ? now : null;
    return asPreview(inv);
  }
  const old = currentPeriod(sub);
  let future = subscriptionAtPhaseChange(ctx, sub, old.end) ?? snapshot(sub);
  if (change) {
    future = snapshot(sub);
    setItems(future, change.items, null);
  }
  const extra = change && behavior === 'create_prorations' ? change.prorations : [];
  const { lines } = renewalLines(ctx, future, old, extra);
  const inv = buildInvoice(old.end, { customer, subscription: future, billingReason: 'upcoming', lines, periodStart: old.start, periodEnd: old.end });
  inv.automatically_finalizes_at = null;
  inv.next_payment_attempt = inv.amount_due > 0 ? old.end : null;
  return asPreview(inv);
}
