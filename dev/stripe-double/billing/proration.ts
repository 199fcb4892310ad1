/**
 * Item changes prorated like Stripe: by the second, between the proration date and the end
 * of the current period. Changing a price or a quantity credits the unused time of the old
 * item in full ("Unused time on ...", negative) and charges the remaining time of the new one
 * ("Remaining time on ..."), each line rounded to the cent on its own. A change of billing
 * interval (month -> year) restarts the period now (billing_cycle_anchor=now) and bills the
 * new period in full, after the credit. Metered items and trials are not prorated.
 * Pure: the subscription is not touched, so previews and updates share it.
 */
import type Stripe from 'stripe';
import { addInterval, intervalOf, sameInterval, type Interval } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import { snapshot } from '../fixtures.ts';
import { randomAlnum } from '../ids.ts';
import type { InvoiceLineFields } from '../objects/invoice.ts';
import { buildSubscriptionItem, currentPeriod, isMetered } from '../objects/subscription.ts';
import { mergeMetadata } from '../params.ts';
import { productName } from '../store.ts';

export type ProrationBehavior = 'always_invoice' | 'create_prorations' | 'none';

/** One entry of `items[]` on an update (or a preview's `subscription_details[items]`), ids resolved. */
export interface ItemRequest {
  /** The item changed or deleted; absent for an item added. */
  existing?: Stripe.SubscriptionItem;
  price?: Stripe.Price;
  quantity?: number;
  metadata?: Record<string, string> | null;
  deleted?: boolean;
}

export interface ItemsChange {
  /** The subscription's items once the change applies. */
  items: Stripe.SubscriptionItem[];
  /** Credit and charge lines for the rest of the current period (none with proration_behavior=none). */
  prorations: InvoiceLineFields[];
  /** The new billing period when the interval changes (it starts now), else null. */
  newPeriod: { start: number; end: number } | null;
}

/** The billing interval of the subscription's items (their licensed ones; Stripe keeps them all on one). */
export function itemsInterval(items: readonly Stripe.SubscriptionItem[]): Interval {
  const licensed = items.filter((i) => !isMetered(i.price));
  const intervals = (licensed.length > 0 ? licensed : items).map((i) => intervalOf(i.price.recurring));
  const first = intervals[0] ?? intervalOf(null);
  if (intervals.some((i) => !sameInterval(i, first))) {
    throw errors.badRequest('Currency and interval fields must match across all plans on this subscription.', 'items');
  }
  return first;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "05 Dec 2026", the date in Stripe's proration descriptions (UTC). */
function day(t: number): string {
  const d = new Date(t * 1000);
  return `${String(d.getUTCDate()).padStart(2, '0')} ${MONTHS[d.getUTCMonth()] ?? ''} ${d.getUTCFullYear()}`;
}

/** The amount of `quantity` × `price` for the time from `from` to the period's end, rounded to the cent. */
export function proratedAmount(price: Stripe.Price, quantity: number, from: number, period: { start: number; end: number }): number {
  const length = period.end - period.start;
  if (length <= 0) return 0;
  return Math.round(((price.unit_amount ?? 0) * quantity * (period.end - from)) / length);
}

function prorationLine(
  ctx: Ctx,
  subId: string,
  item: Stripe.SubscriptionItem,
  kind: 'credit' | 'charge',
  from: number,
  period: { start: number; end: number },
): InvoiceLineFields {
  const quantity = item.quantity ?? 1;
  const amount = proratedAmount(item.price, quantity, from, period);
  const what = `${quantity === 1 ? '' : `${quantity} × `}${productName(ctx.store, item.price)}`;
  return {
    price: item.price,
    quantity,
    // `0 - x`, not `-x`: no negative zero in amounts.
    amount: kind === 'credit' ? 0 - amount : amount,
    description: `${kind === 'credit' ? 'Unused' : 'Remaining'} time on ${what} after ${day(from)}`,
    periodStart: from,
    periodEnd: period.end,
    subscription: subId,
    subscriptionItem: item.id,
    proration: true,
  };
}

/** Checks a proration date the way Stripe does: within the current period. */
export function checkProrationDate(sub: Stripe.Subscription, date: number, param: string): void {
  const period = currentPeriod(sub);
  if (date < period.start || date > period.end) {
    throw errors.invalidParam(param, `The proration_date must be within the subscription's current period (${period.start} to ${period.end}).`);
  }
}

/** What `requests` would do to `sub` as of `prorationDate`, without changing it. */
export function planItemsChange(
  ctx: Ctx,
  sub: Stripe.Subscription,
  requests: readonly ItemRequest[],
  behavior: ProrationBehavior,
  prorationDate: number,
  /** billing_cycle_anchor=now: the period restarts now even with the same interval. */
  resetAnchor = false,
): ItemsChange {
  const now = ctx.clock.now();
  const period = currentPeriod(sub);
  const items = sub.items.data.map((i) => snapshot(i));
  const changed: Array<{ old?: Stripe.SubscriptionItem; next?: Stripe.SubscriptionItem }> = [];
  for (const req of requests) {
    const old = req.existing;
    if (old) {
      const at = items.findIndex((i) => i.id === old.id);
      if (req.deleted) {
        items.splice(at, 1);
        changed.push({ old });
        continue;
      }
      const next = buildSubscriptionItem(sub.id, old.created, {
        price: req.price ?? old.price,
        quantity: req.quantity ?? old.quantity ?? 1,
        metadata: mergeMetadata(old.metadata, req.metadata),
        periodStart: old.current_period_start,
        periodEnd: old.current_period_end,
      });
      next.id = old.id;
      items[at] = next;
      if (next.price.id !== old.price.id || next.quantity !== old.quantity) changed.push({ old, next });
    } else if (req.price) {
      const next = buildSubscriptionItem(sub.id, now, {
        price: req.price,
        quantity: req.quantity ?? 1,
        metadata: mergeMetadata({}, req.metadata),
        periodStart: period.start,
        periodEnd: period.end,
      });
      items.push(next);
      changed.push({ next });
    }
  }
  const newInterval = itemsInterval(items);
  const restart = resetAnchor || !sameInterval(itemsInterval(sub.items.data), newInterval);
  const newPeriod = restart ? { start: now, end: addInterval(now, newInterval) } : null;
  if (newPeriod) {
    for (const i of items) {
      i.current_period_start = newPeriod.start;
      i.current_period_end = newPeriod.end;
    }
  }
  const prorations: InvoiceLineFields[] = [];
  if (behavior !== 'none' && sub.status !== 'trialing') {
    if (newPeriod) {
      // The period restarts: every licensed item's unused time is credited; the new period is billed in full.
      for (const old of sub.items.data) if (!isMetered(old.price)) prorations.push(prorationLine(ctx, sub.id, old, 'credit', prorationDate, period));
    } else {
      for (const { old, next } of changed) {
        if (old && !isMetered(old.price)) prorations.push(prorationLine(ctx, sub.id, old, 'credit', prorationDate, period));
        if (next && !isMetered(next.price)) prorations.push(prorationLine(ctx, sub.id, next, 'charge', prorationDate, period));
      }
    }
  }
  return { items, prorations, newPeriod };
}

/** Keeps create_prorations lines as pending invoice items (ii_...) that the subscription's next invoice bills. */
export function keepAsInvoiceItems(ctx: Ctx, subId: string, lines: readonly InvoiceLineFields[]): void {
  if (lines.length === 0) return;
  const kept = ctx.store.pendingInvoiceItems.get(subId) ?? [];
  kept.push(...lines.map((l) => ({ ...l, invoiceItem: `ii_1${randomAlnum(23)}` })));
  ctx.store.pendingInvoiceItems.set(subId, kept);
}
