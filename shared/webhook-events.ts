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
import { accountKindOf, isAccountId, usableId } from './account-id.ts';
import type { Config } from './config.ts';
import type { CustomerLink, EventRecord, Store, SubscriptionSnapshot } from './store/index.ts';
import { badRequest } from './errors.ts';
import type { Logger } from './log.ts';
import { STRIPE_API_VERSION, stripeClient, type Stripe } from './stripe.ts';
import { accountOfCustomer, fetchSnapshot, idOf } from './subscription-snapshot.ts';
import { oneTrialPerAccount } from './trials.ts';

/** A Stripe id of the given prefix, fit for a database key (no control characters or lone surrogates). */
const stripeId = (v: unknown, prefix: string): string | null =>
  usableId(v) && /^[A-Za-z0-9_]+$/.test(v) && v.startsWith(prefix) ? v : null;

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
    case 'invoice.payment_failed': {
      // Endpoints on API versions before 2025-03-31 send `invoice.subscription` instead of
      // `parent` (see checkApiVersion): read either, so such events still apply.
      const invoice = event.data.object as Stripe.Invoice & { subscription?: string | { id: string } | null };
      return idOf(invoice.parent?.subscription_details?.subscription ?? invoice.subscription);
    }
    case 'checkout.session.completed':
    case 'checkout.session.expired':
      return event.data.object.mode === 'subscription' ? idOf(event.data.object.subscription) : null;
    // A schedule's change of phases is a pending plan change (or its end); once released, the
    // subscription it held is `released_subscription`.
    case 'subscription_schedule.created':
    case 'subscription_schedule.updated':
    case 'subscription_schedule.released':
    case 'subscription_schedule.canceled':
    case 'subscription_schedule.completed':
    case 'subscription_schedule.aborted':
      return idOf(event.data.object.subscription ?? event.data.object.released_subscription);
    default:
      return null;
  }
}

const HANDLED = new Set<string>([
  'customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted',
  'customer.subscription.paused', 'customer.subscription.resumed', 'customer.subscription.trial_will_end',
  'invoice.paid', 'invoice.payment_succeeded', 'invoice.payment_failed',
  'checkout.session.completed', 'checkout.session.expired',
  'subscription_schedule.created', 'subscription_schedule.updated', 'subscription_schedule.released',
  'subscription_schedule.canceled', 'subscription_schedule.completed', 'subscription_schedule.aborted',
]);

/** Only account ids of the kinds we mint ('user:<id>', 'org:<id>') are linked; anything else in metadata is ignored. */
function accountLink(accountId: string | null | undefined, customerId: string | null): CustomerLink | null {
  if (!accountId || !customerId || !isAccountId(accountId)) return null;
  const kind = accountKindOf(accountId);
  return kind && { account_id: accountId, kind, customer_id: customerId };
}

/**
 * The account-to-customer link an event proves, if any. Only what our own checkout made
 * counts: the account named by the subscription's or session's metadata must be the one the
 * customer was created for (its own metadata). `client_reference_id` is never used: anyone
 * can set it on a Payment Link or pricing table. (Checkout links the account before the
 * session is created, so this only repairs a link that a lost database write left out.)
 */
async function linkOf(cfg: Config, event: Stripe.Event, snapshot: SubscriptionSnapshot | null): Promise<CustomerLink | null> {
  // snapshotOf keeps the subscription's account only when its customer agrees.
  if (snapshot) return accountLink(snapshot.account_id, snapshot.customer_id);
  if (event.type !== 'checkout.session.completed') return null;
  const session = event.data.object;
  const claimed = session.metadata?.['account_id'];
  const customerId = stripeId(idOf(session.customer), 'cus_');
  if (!claimed || !customerId || !isAccountId(claimed)) return null;
  // A session with no subscription: one more Stripe call, on this rare path only.
  const customer = await stripeClient(cfg).customers.retrieve(customerId);
  return accountOfCustomer(customer) === claimed ? accountLink(claimed, customerId) : null;
}

/**
 * A payload that is not an event Stripe would send (seed 2's hand-written example has no
 * id, created or object) is refused before anything reaches the database: every field we
 * store is checked here.
 */
export function checkEvent(event: Stripe.Event): void {
  const e = event as Partial<Stripe.Event> | null;
  const problem =
    !e || typeof e !== 'object' ? 'it is not an object'
    : e.object !== 'event' ? 'object is not "event"'
    : !stripeId(e.id, 'evt_') ? 'id is not an event id (evt_...)'
    : typeof e.type !== 'string' || !/^[a-z0-9_.]{1,255}$/.test(e.type) ? 'type is not an event type'
    : !Number.isSafeInteger(e.created) || e.created! <= 0 ? 'created is not unix seconds'
    : !e.data || typeof e.data.object !== 'object' || e.data.object === null ? 'data.object is not an object'
    : null;
  if (problem) throw badRequest(`Not a Stripe event: ${problem}`);
}

const warnedVersions = new Set<string>();

/**
 * Stripe formats each event in the API version of the webhook endpoint, not the SDK's. Older
 * versions lack fields we read (invoice `parent`, subscription item periods); what can still
 * be applied is, and one warning per version and process says what to change.
 */
export function checkApiVersion(event: Stripe.Event, log: Logger): void {
  const version = event.api_version;
  if (!version || version === STRIPE_API_VERSION || warnedVersions.has(version)) return;
  warnedVersions.add(version);
  log.warn('stripe_api_version_mismatch', {
    eventApiVersion: version,
    expected: STRIPE_API_VERSION,
    fix: `set the webhook endpoint's API version to ${STRIPE_API_VERSION} (Dashboard, or stripe listen --latest)`,
  });
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

/**
 * One account, one subscription: a user can open Checkout in two tabs and pay both. When one
 * session completes, the customer's other open sessions are expired (Stripe refuses to
 * complete an expired one). Two paid at once still slip through: the subscriptions are
 * both stored (the customer pays for both) and an error line names them, for the operator
 * to cancel and refund one (README). Runs before the event is recorded, so a failure here
 * is a 5xx and Stripe's retry does it again. Extra Stripe calls on this event only.
 */
async function settleCheckout(cfg: Config, log: Logger, event: Stripe.CheckoutSessionCompletedEvent, link: CustomerLink): Promise<void> {
  const stripe = stripeClient(cfg);
  const open = await stripe.checkout.sessions.list({ customer: link.customer_id, status: 'open', limit: 100 });
  for (const other of open.data) {
    if (other.id !== event.data.object.id) await stripe.checkout.sessions.expire(other.id);
  }
  const subs = await stripe.subscriptions.list({ customer: link.customer_id, status: 'all', limit: 100 });
  const live = subs.data.filter((x) => x.status !== 'canceled' && x.status !== 'incomplete_expired').map((x) => x.id);
  if (live.length > 1) {
    log.error('checkout_second_subscription', { accountId: link.account_id, customerId: link.customer_id, subscriptions: live, fix: 'cancel and refund all but one' });
  }
}

export async function applyStripeEvent(cfg: Config, store: Store, event: Stripe.Event, log: Logger): Promise<Applied> {
  const handled = HANDLED.has(event.type);
  // An id we could not store or ask Stripe about (forged, or not an id) is treated as absent.
  const subscriptionId = handled ? stripeId(subscriptionIdOf(event), 'sub_') : null;
  const fetched = subscriptionId ? await fetchSnapshotUnlessGone(cfg, subscriptionId) : null;
  const snapshot = fetched && fetched !== GONE ? await oneTrialPerAccount(cfg, store, log, fetched) : fetched;
  if (event.type === 'customer.subscription.trial_will_end' && snapshot && snapshot !== GONE) {
    // Stripe sends it three days before a trial ends: the app may remind the customer to add a card.
    log.info('trial_will_end', { accountId: snapshot.account_id, subscriptionId: snapshot.id, trialEnd: snapshot.trial_end });
  }
  const object = event.data.object;
  const record: EventRecord = {
    id: event.id,
    type: event.type,
    created: event.created,
    object_id: 'id' in object && usableId(object.id) ? object.id : null,
    outcome: handled && snapshot !== GONE ? 'applied' : 'ignored',
  };
  const link = record.outcome === 'applied' ? await linkOf(cfg, event, snapshot === GONE ? null : snapshot) : null;
  if (link && event.type === 'checkout.session.completed') await settleCheckout(cfg, log, event, link);
  const result = await store.applyEvent({
    event: record,
    link,
    subscriptions: snapshot && snapshot !== GONE ? [snapshot] : [],
  });
  return { duplicate: result.duplicate, outcome: record.outcome };
}
