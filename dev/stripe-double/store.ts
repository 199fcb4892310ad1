/** In-memory state of the double. Objects are stored in their wire form, typed with stripe-node's types. */
import type Stripe from 'stripe';
import { errors } from './errors.ts';
import type { InvoiceLineFields } from './objects/invoice.ts';

/** Id-keyed, insertion-ordered objects; Stripe lists them newest first. */
export class Collection<T extends { id: string }> {
  private readonly items = new Map<string, T>();

  get(id: string): T | undefined {
    return this.items.get(id);
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  /** Inserts, or replaces in place (keeping the object's position in lists). */
  set(item: T): T {
    this.items.set(item.id, item);
    return item;
  }

  delete(id: string): void {
    this.items.delete(id);
  }

  values(): T[] {
    return [...this.items.values()];
  }

  newestFirst(): T[] {
    return this.values().reverse();
  }

  get map(): ReadonlyMap<string, T> {
    return this.items;
  }
}

/**
 * The stored object `id`, or Stripe's `No such customer: 'cus_x'`: a 404 when the id is the
 * URL's, a 400 naming `param` when a request parameter names it (as Stripe answers).
 */
export function find<T extends { id: string }>(collection: Collection<T>, id: string, resource: string, param?: string): T {
  const found = collection.get(id);
  if (found) return found;
  throw param === undefined ? errors.notFound(resource, id) : errors.noSuchParamObject(resource, id, param);
}

/** The id of a reference that is an id or, once expanded, the object itself. */
export function idOf(ref: string | { id: string }): string {
  return typeof ref === 'string' ? ref : ref.id;
}

/** The name of the price's product (its id if the product is not stored), as invoice and Checkout lines show it. */
export function productName(store: Store, price: Stripe.Price): string {
  const id = idOf(price.product);
  return store.products.get(id)?.name ?? id;
}

/** What a Checkout Session keeps that its object does not show. */
export interface CheckoutExtras {
  lineItems: Stripe.LineItem[];
  subscriptionData: {
    metadata: Record<string, string>;
    trialPeriodDays: number | null;
    description: string | null;
  };
}

/** A meter event as received, with its dedup window anchor. */
export interface StoredMeterEvent {
  event: Stripe.Billing.MeterEvent;
  receivedAt: number;
}

/** Items a subscription update will set once its invoice is paid (`pending_update`), and the period it restarts, if any. */
export interface PendingItems {
  items: Stripe.SubscriptionItem[];
  newPeriod: { start: number; end: number } | null;
}

export class Store {
  readonly customers = new Collection<Stripe.Customer>();
  readonly deletedCustomers = new Set<string>();
  readonly products = new Collection<Stripe.Product>();
  readonly prices = new Collection<Stripe.Price>();
  readonly subscriptions = new Collection<Stripe.Subscription>();
  readonly invoices = new Collection<Stripe.Invoice>();
  readonly checkoutSessions = new Collection<Stripe.Checkout.Session>();
  readonly checkoutExtras = new Map<string, CheckoutExtras>();
  readonly portalSessions = new Collection<Stripe.BillingPortal.Session>();
  readonly portalConfigurations = new Collection<Stripe.BillingPortal.Configuration>();
  readonly features = new Collection<Stripe.Entitlements.Feature>();
  /** Product id -> its attached features. */
  readonly productFeatures = new Map<string, Collection<Stripe.ProductFeature>>();
  readonly meters = new Collection<Stripe.Billing.Meter>();
  readonly meterEvents: StoredMeterEvent[] = [];
  readonly events = new Collection<Stripe.Event>();
  readonly subscriptionSchedules = new Collection<Stripe.SubscriptionSchedule>();
  /** Subscription id -> proration invoice items (create_prorations) that its next invoice bills. */
  readonly pendingInvoiceItems = new Map<string, InvoiceLineFields[]>();
  /** Subscription id -> the items its pending_update sets when the update's invoice is paid. */
  readonly pendingItems = new Map<string, PendingItems>();
  /** Customers whose next payment attempt is declined (once). */
  readonly declineNextPayment = new Set<string>();

  /** The object with this id, whatever its type (used by `expand`). */
  lookup(id: string): object | undefined {
    const collections = [
      this.customers,
      this.products,
      this.prices,
      this.subscriptions,
      this.invoices,
      this.checkoutSessions,
      this.portalSessions,
      this.portalConfigurations,
      this.features,
      this.meters,
      this.events,
      this.subscriptionSchedules,
    ] as const;
    for (const c of collections) {
      const found = c.get(id);
      if (found) return found;
    }
    if (this.deletedCustomers.has(id)) return { id, object: 'customer', deleted: true };
    return undefined;
  }
}

/** Read access for tests. */
export interface DoubleState {
  customers: ReadonlyMap<string, Stripe.Customer>;
  products: ReadonlyMap<string, Stripe.Product>;
  prices: ReadonlyMap<string, Stripe.Price>;
  subscriptions: ReadonlyMap<string, Stripe.Subscription>;
  invoices: ReadonlyMap<string, Stripe.Invoice>;
  sessions: ReadonlyMap<string, Stripe.Checkout.Session>;
  portalSessions: ReadonlyMap<string, Stripe.BillingPortal.Session>;
  meters: ReadonlyMap<string, Stripe.Billing.Meter>;
  subscriptionSchedules: ReadonlyMap<string, Stripe.SubscriptionSchedule>;
  /** Accepted meter events, oldest first. */
  readonly meterEvents: readonly Stripe.Billing.MeterEvent[];
  /** Every event the double produced, oldest first. */
  readonly events: readonly Stripe.Event[];
}

export function stateView(store: Store): DoubleState {
  return {
    customers: store.customers.map,
    products: store.products.map,
    prices: store.prices.map,
    subscriptions: store.subscriptions.map,
    invoices: store.invoices.map,
    sessions: store.checkoutSessions.map,
    portalSessions: store.portalSessions.map,
    meters: store.meters.map,
    subscriptionSchedules: store.subscriptionSchedules.map,
    get meterEvents() {
      return store.meterEvents.map((m) => m.event);
    },
    get events() {
      return store.events.values();
    },
  };
}
