/**
 * Test and dev actions: what a customer, a bank or time would do, each producing the
 * events Stripe would send, in order. Results hold snapshots of the objects as the
 * action left them, the events, and the delivery results (when a webhook target is
 * set and `deliver` is not false; delivery is awaited).
 */
import type Stripe from 'stripe';
import { completeCheckout, expireCheckout, type CompleteCheckoutOptions } from './billing/checkout.ts';
import { failInvoice, payInvoice, voidInvoice } from './billing/invoices.ts';
import * as subs from './billing/subscriptions.ts';
import type { Ctx } from './context.ts';
import { AUTOMATIC, Emission } from './events.ts';
import { snapshot } from './fixtures.ts';
import { find } from './store.ts';
import type { DeliveryResult } from './webhooks.ts';

export interface ActionOptions {
  /** Deliver the events to the webhook target (default true). They are stored either way. */
  deliver?: boolean;
}

export interface ActionResult {
  events: Stripe.Event[];
  deliveries: DeliveryResult[];
}

export interface SubscriptionResult extends ActionResult {
  subscription: Stripe.Subscription;
}

export interface DoubleActions {
  /** The customer pays on the Checkout page: customer (if new), subscription, first invoice, checkout.session.completed. */
  completeCheckout(
    sessionId: string,
    opts?: CompleteCheckoutOptions & ActionOptions,
  ): Promise<ActionResult & { session: Stripe.Checkout.Session; customer: Stripe.Customer; subscription: Stripe.Subscription; invoice: Stripe.Invoice }>;
  /** The session times out: checkout.session.expired. */
  expireCheckout(sessionId: string, opts?: ActionOptions): Promise<ActionResult & { session: Stripe.Checkout.Session }>;
  /** Time reaches the period end: the next period and its invoice, paid or failed (ends a trial too; ends a subscription set to cancel). */
  renewPeriod(subscriptionId: string, opts?: { paymentFails?: boolean } & ActionOptions): Promise<SubscriptionResult & { invoice?: Stripe.Invoice }>;
  /** An open invoice gets paid (a retry succeeds): past_due/incomplete -> active. */
  payInvoice(invoiceId: string, opts?: ActionOptions): Promise<ActionResult & { invoice: Stripe.Invoice; subscription?: Stripe.Subscription }>;
  /** A payment attempt on an open invoice fails: active -> past_due. */
  failInvoice(invoiceId: string, opts?: ActionOptions): Promise<ActionResult & { invoice: Stripe.Invoice; subscription?: Stripe.Subscription }>;
  /** Sets (true, default) or clears (false: resume) cancel_at_period_end, as the portal does. */
  scheduleCancel(subscriptionId: string, atPeriodEnd?: boolean, opts?: ActionOptions): Promise<SubscriptionResult>;
  /** Cancels immediately: customer.subscription.deleted. */
  cancelNow(subscriptionId: string, opts?: ActionOptions): Promise<SubscriptionResult>;
  /** Same as cancelNow. */
  deleteSubscription(subscriptionId: string, opts?: ActionOptions): Promise<SubscriptionResult>;
  /** customer.subscription.trial_will_end (sent three days before a trial ends). */
  trialWillEnd(subscriptionId: string, opts?: ActionOptions): Promise<SubscriptionResult>;
  /** Status paused: customer.subscription.updated, customer.subscription.paused. */
  pause(subscriptionId: string, opts?: ActionOptions): Promise<SubscriptionResult>;
  /**
   * The customer's next payment attempt (any invoice: a subscription update's, a renewal, a
   * first invoice) is declined, once. No events until then.
   */
  nextPaymentFails(customerId: string): Promise<{ customer: Stripe.Customer }>;
  /** Voids an open invoice: invoice.voided; a pending update waiting for it is dropped. */
  voidInvoice(invoiceId: string, opts?: ActionOptions): Promise<ActionResult & { invoice: Stripe.Invoice; subscription?: Stripe.Subscription }>;
  /** Back to active with a new period: invoice events, customer.subscription.resumed, customer.subscription.updated. */
  resume(subscriptionId: string, opts?: ActionOptions): Promise<SubscriptionResult & { invoice?: Stripe.Invoice }>;
}

export function createActions(ctx: Ctx): DoubleActions {
  const { store, bus } = ctx;

  async function run<R extends object>(opts: ActionOptions | undefined, change: (em: Emission) => R): Promise<R & ActionResult> {
    const em = new Emission(AUTOMATIC);
    const result = change(em);
    const deliveries = await bus.publish(em.events, opts?.deliver ?? true);
    return { ...result, events: em.events, deliveries };
  }

  const session = (id: string) => find(store.checkoutSessions, id, 'checkout.session');
  const subscription = (id: string) => find(store.subscriptions, id, 'subscription');
  const invoice = (id: string) => find(store.invoices, id, 'invoice');
  const subResult = (sub: Stripe.Subscription) => ({ subscription: snapshot(sub) });
  const optional = <T>(value: T | undefined) => (value === undefined ? undefined : snapshot(value));

  const cancelNow = (id: string, opts?: ActionOptions) =>
    run(opts, (em) => {
      const sub = subscription(id);
      subs.cancelNow(ctx, em, sub);
      return subResult(sub);
    });

  return {
    completeCheckout: (id, opts) =>
      run(opts, (em) => {
        const done = completeCheckout(ctx, em, session(id), opts);
        return {
          session: snapshot(done.session),
          customer: snapshot(done.customer),
          subscription: snapshot(done.subscription),
          invoice: snapshot(done.invoice),
        };
      }),
    expireCheckout: (id, opts) => run(opts, (em) => ({ session: snapshot(expireCheckout(ctx, em, session(id))) })),
    renewPeriod: (id, opts) =>
      run(opts, (em) => {
        const r = subs.renewPeriod(ctx, em, subscription(id), opts?.paymentFails ?? false);
        return { subscription: snapshot(r.subscription), invoice: optional(r.invoice) };
      }),
    payInvoice: (id, opts) =>
      run(opts, (em) => {
        const inv = invoice(id);
        const sub = payInvoice(ctx, em, inv);
        return { invoice: snapshot(inv), subscription: optional(sub) };
      }),
    failInvoice: (id, opts) =>
      run(opts, (em) => {
        const inv = invoice(id);
        const sub = failInvoice(ctx, em, inv);
        return { invoice: snapshot(inv), subscription: optional(sub) };
      }),
    scheduleCancel: (id, atPeriodEnd = true, opts) =>
      run(opts, (em) => {
        const sub = subscription(id);
        subs.scheduleCancel(ctx, em, sub, atPeriodEnd);
        return subResult(sub);
      }),
    nextPaymentFails: (id) => {
      const customer = find(store.customers, id, 'customer');
      store.declineNextPayment.add(customer.id);
      return Promise.resolve({ customer: snapshot(customer) });
    },
    voidInvoice: (id, opts) =>
      run(opts, (em) => {
        const inv = invoice(id);
        const sub = voidInvoice(ctx, em, inv);
        return { invoice: snapshot(inv), subscription: optional(sub) };
      }),
    cancelNow,
    deleteSubscription: cancelNow,
    trialWillEnd: (id, opts) =>
      run(opts, (em) => {
        const sub = subscription(id);
        subs.trialWillEnd(ctx, em, sub);
        return subResult(sub);
      }),
    pause: (id, opts) =>
      run(opts, (em) => {
        const sub = subscription(id);
        subs.pause(ctx, em, sub);
        return subResult(sub);
      }),
    resume: (id, opts) =>
      run(opts, (em) => {
        const r = subs.resume(ctx, em, subscription(id));
        return { subscription: snapshot(r.subscription), invoice: optional(r.invoice) };
      }),
  };
}
