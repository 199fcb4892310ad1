/**
 * Turns a Stripe subscription into the row we store. API 2026-10-28 (stripe-node 23):
 * the current period lives on subscription items.
 */
import { isAccountId } from './account-id.ts';
import type { Config } from './config.ts';
import type { SubscriptionSnapshot } from './store/types.ts';
import { stripeClient, type Stripe } from './stripe.ts';

const iso = (unix: number | null | undefined) => (unix ? new Date(unix * 1000).toISOString() : null);
/** Stripe fields hold an id or, when expanded, the object: the id either way. */
export const idOf = (x: string | { id: string } | null | undefined) => (typeof x === 'string' ? x : (x?.id ?? null));

/**
 * The account a customer belongs to, as our own checkout created it (shared/customer.ts puts
 * `metadata.account_id` on every customer it creates). Metadata on a subscription or a
 * Checkout Session (`client_reference_id`) can be set outside our code (a Payment Link, a
 * pricing table, the Dashboard), so it proves nothing unless the customer agrees.
 */
export function accountOfCustomer(customer: string | Stripe.Customer | Stripe.DeletedCustomer): string | null {
  if (typeof customer === 'string' || customer.deleted) return null;
  const id = customer.metadata?.['account_id'];
  return id && isAccountId(id) ? id : null;
}

type PendingChange = Pick<SubscriptionSnapshot, 'pending_price_id' | 'pending_product_id' | 'pending_quantity' | 'pending_effective_at'>;
const NO_PENDING_CHANGE: PendingChange = { pending_price_id: null, pending_product_id: null, pending_quantity: null, pending_effective_at: null };

/** The next phase of the subscription's schedule (expanded), while the schedule runs: what it will change, and when. */
export function nextPhaseOf(sub: Stripe.Subscription): { schedule: Stripe.SubscriptionSchedule; price: Stripe.SubscriptionSchedule.Phase.Item['price']; quantity: number; startsAt: number } | null {
  const schedule = typeof sub.schedule === 'object' ? sub.schedule : null;
  const current = schedule?.status === 'active' ? schedule.current_phase : null;
  const next = current && schedule?.phases.find((phase) => phase.start_date >= current.end_date);
  const item = next?.items[0];
  return schedule && next && item ? { schedule, price: item.price, quantity: item.quantity ?? 1, startsAt: next.start_date } : null;
}

/**
 * What the subscription's schedule will change when its next phase starts (a downgrade
 * waiting for the period's end, ours or the portal's). Needs `schedule.phases.items.price`
 * expanded: the price's product names the plan. A phase that keeps the price and quantity
 * changes nothing, and a released or ended schedule nothing either.
 */
function pendingChangeOf(sub: Stripe.Subscription): PendingChange {
  const next = nextPhaseOf(sub);
  const now = sub.items.data[0];
  if (!next || (idOf(next.price) === now?.price.id && next.quantity === (now?.quantity ?? 1))) return NO_PENDING_CHANGE;
  const price = next.price;
  return {
    pending_price_id: idOf(price),
    pending_product_id: typeof price === 'object' && !price.deleted ? idOf(price.product) : null,
    pending_quantity: next.quantity,
    pending_effective_at: iso(next.startsAt),
  };
}

/** What fetchSnapshot expands: the customer (whose account counts), the unpaid invoice, the schedule's next prices. */
export const SNAPSHOT_EXPAND = ['latest_invoice', 'customer', 'schedule.phases.items.price'];

/**
 * `customer` must be expanded for the subscription's account to count (fetchSnapshot and
 * fetchCustomerSnapshots expand it): the account is the subscription's metadata only when
 * its customer was made by our checkout for that same account.
 */
export function snapshotOf(sub: Stripe.Subscription, snapshotAt: number): SubscriptionSnapshot {
  const item = sub.items.data[0];
  const invoice = typeof sub.latest_invoice === 'object' ? sub.latest_invoice : null;
  // The grace period starts when the unpaid invoice was created: a fact of Stripe's, so
  // every delivery order computes the same start.
  const owing = sub.status === 'past_due' || sub.status === 'unpaid';
  const claimed = sub.metadata?.['account_id'];
  return {
    id: sub.id,
    customer_id: idOf(sub.customer)!,
    account_id: claimed && claimed === accountOfCustomer(sub.customer) ? claimed : null,
    status: sub.status,
    price_id: item?.price.id ?? null,
    product_id: item ? idOf(item.price.product) : null,
    quantity: item?.quantity ?? null,
    current_period_start: iso(item?.current_period_start),
    current_period_end: iso(item?.current_period_end),
    cancel_at_period_end: sub.cancel_at_period_end,
    cancel_at: iso(sub.cancel_at),
    canceled_at: iso(sub.canceled_at),
    ended_at: iso(sub.ended_at),
    trial_start: iso(sub.trial_start),
    trial_end: iso(sub.trial_end),
    past_due_since: owing ? iso(invoice?.created ?? item?.current_period_start) : null,
    stripe_created: iso(sub.created)!,
    ...pendingChangeOf(sub),
    snapshot_at: snapshotAt,
  };
}

/**
 * Reads a subscription's current state from Stripe. The time is taken before the request
 * leaves, so a snapshot that started later always wins in the store.
 */
export async function fetchSnapshot(cfg: Config, subscriptionId: string): Promise<SubscriptionSnapshot> {
  const snapshotAt = Date.now();
  const sub = await stripeClient(cfg).subscriptions.retrieve(subscriptionId, { expand: SNAPSHOT_EXPAND });
  return snapshotOf(sub, snapshotAt);
}

/**
 * All of a customer's subscriptions, any status (for reconcile). A list cannot expand a
 * schedule's prices (Stripe's expansions stop at four levels), so a subscription with a
 * schedule is read on its own.
 */
export async function fetchCustomerSnapshots(cfg: Config, customerId: string): Promise<SubscriptionSnapshot[]> {
  const snapshotAt = Date.now();
  const out: SubscriptionSnapshot[] = [];
  for await (const sub of stripeClient(cfg).subscriptions.list({ customer: customerId, status: 'all', limit: 100, expand: ['data.latest_invoice', 'data.customer'] })) {
    out.push(sub.schedule ? await fetchSnapshot(cfg, sub.id) : snapshotOf(sub, snapshotAt));
  }
  return out;
}
