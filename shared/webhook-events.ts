/**
 * What each Stripe event means for our database.
 *
 * Ordering: Stripe does not deliver events in order, retries them for days, and several
 * can share the same `created` second, so an event's payload is not a safe source of the
 * current state. For every event that touches a subscription we instead fetch the
 * subscription from Stripe (one call) and store that snapshot, stamped with the time the
 * fetch began; the store ignores a snapshot older than the one it has. Whatever the order,
 * the last event of a change triggers a fetch that begins after the change, so the stored
 * state converges to Stripe's. Cost per event: one Stripe GET and one database
 * transaction (the event record, the customer link and the snapshot, together).
 */
import { accountKindOf } from './account-id.ts';
import type { Config } from './config.ts';
import type { CustomerLink, EventRecord, Store, SubscriptionSnapshot } from './store/index.ts';
import type { Stripe } from './stripe.ts';
import { fetchSnapshot, idOf } from './subscription-snapshot.ts';


/** The subscription an event is about, if any. */
function subscriptionIdOf(event: Stripe.Event): string | null {
  switch (event.type) {
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted':
    case 'customer.subscription.paused':
    case 'customer.subscription.resumed':
    case 'customer.subscription.trial_will_end':
      return event.data.object.id;
    case 'invoice.paid':
    case 'invoice.payment_succeeded':
    case 'invoice.payment_failed':
      return idOf(event.data.object.parent?.subscription_details?.subscription);
    case 'checkout.session.completed':
    case 'checkout.session.expired':
      return event.data.object.mode === 'subscription' ? idOf(event.data.object.subscription) : null;
    default:
      return null;
  }
}

const HANDLED = new Set<string>([
  'customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted',
  'customer.subscription.paused', 'customer.subscription.resumed', 'customer.subscription.trial_will_end',
  'invoice.paid', 'invoice.payment_succeeded', 'invoice.payment_failed',
  'checkout.session.completed', 'checkout.session.expired',
]);

/** Only account ids of the kinds we mint ('user:<id>', 'org:<id>') are linked; anything else in metadata is ignored. */
function accountLink(accountId: string | null | undefined, customerId: string | null): CustomerLink | null {
  if (!accountId || !customerId) return null;
  const kind = accountKindOf(accountId);
  return kind && { account_id: accountId, kind, customer_id: customerId };
}

function linkOf(event: Stripe.Event, snapshot: SubscriptionSnapshot | null): CustomerLink | null {
  if (event.type === 'checkout.session.completed') {
    const s = event.data.object;
    return accountLink(s.metadata?.['account_id'] ?? s.client_reference_id, idOf(s.customer));
  }
  // Subscriptions made by our checkout carry the account id: an event that arrives before
  // checkout.session.completed still links the account.
  return snapshot ? accountLink(snapshot.account_id, snapshot.customer_id) : null;
}

const GONE = Symbol('subscription unknown to Stripe');

/**
 * A subscription Stripe says does not exist (another mode or account, or a test clock
 * deleted) can never be applied: retrying for days would not help, so it is ignored.
 * Every other failure propagates and the webhook answers 5xx.
 */
async function fetchSnapshotUnlessGone(cfg: Config, id: string): Promise<SubscriptionSnapshot | typeof GONE> {
  try {
    return await fetchSnapshot(cfg, id);
  } catch (err) {
    const e = err as { type?: string; code?: string };
    if (e.type === 'StripeInvalidRequestError' && e.code === 'resource_missing') return GONE;
    throw err;
  }
}

export interface Applied {
  duplicate: boolean;
  outcome: EventRecord['outcome'];
}

export async function applyStripeEvent(cfg: Config, store: Store, event: Stripe.Event): Promise<Applied> {
  const handled = HANDLED.has(event.type);
  const subscriptionId = handled ? subscriptionIdOf(event) : null;
  const snapshot = subscriptionId ? await fetchSnapshotUnlessGone(cfg, subscriptionId) : null;
  const object = event.data.object;
  const record: EventRecord = {
    id: event.id,
    type: event.type,
    created: event.created,
    object_id: 'id' in object && typeof object.id === 'string' ? object.id : null,
    outcome: handled && snapshot !== GONE ? 'applied' : 'ignored',
  };
  const result = await store.applyEvent({
    event: record,
    link: record.outcome === 'applied' ? linkOf(event, snapshot === GONE ? null : snapshot) : null,
    subscriptions: snapshot && snapshot !== GONE ? [snapshot] : [],
  });
  return { duplicate: result.duplicate, outcome: record.outcome };
}
