/** What happens when a customer finishes (or abandons) a Checkout Session in subscription mode. */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import type { Emission } from '../events.ts';
import { newId, randomAlnum } from '../ids.ts';
import { buildCustomer } from '../objects/customer.ts';
import { find, idOf } from '../store.ts';
import { createSubscription, type NewItem } from './subscriptions.ts';

export interface CompleteCheckoutOptions {
  /** Overrides the session's subscription_data[trial_period_days]. 0 means no trial. */
  trialDays?: number;
  paymentFails?: boolean;
  /** The email the customer typed on the payment page (when the session had none). */
  email?: string;
}

export interface CompletedCheckout {
  session: Stripe.Checkout.Session;
  customer: Stripe.Customer;
  subscription: Stripe.Subscription;
  invoice: Stripe.Invoice;
}

function requireOpen(session: Stripe.Checkout.Session): void {
  if (session.status !== 'open') {
    throw errors.badRequest(`This Checkout Session is ${session.status ?? 'not open'}; only open sessions can be completed.`);
  }
}

/**
 * customer.created (when the session had no customer), the subscription's creation
 * events (see createSubscription), then checkout.session.completed. When the
 * payment fails the subscription stays incomplete with an open invoice and the
 * session completes unpaid (as with a delayed payment method).
 */
export function completeCheckout(ctx: Ctx, em: Emission, session: Stripe.Checkout.Session, opts: CompleteCheckoutOptions = {}): CompletedCheckout {
  requireOpen(session);
  const extras = ctx.store.checkoutExtras.get(session.id);
  if (!extras) throw new Error(`checkout session ${session.id} has no stored line items`);
  const now = ctx.clock.now();

  let customer: Stripe.Customer;
  if (session.customer) {
    customer = find(ctx.store.customers, idOf(session.customer), 'customer', 'customer');
  } else {
    const email = session.customer_email ?? opts.email ?? `test+${randomAlnum(8).toLowerCase()}@example.com`;
    customer = buildCustomer(newId.customer(), now, { email });
    ctx.store.customers.set(customer);
    ctx.bus.emit(em, 'customer.created', customer);
  }

  const trialDays = opts.trialDays ?? extras.subscriptionData.trialPeriodDays ?? 0;
  const items: NewItem[] = extras.lineItems.map((li) => {
    if (!li.price) throw new Error(`line item ${li.id} has no price`);
    return { price: li.price, quantity: li.quantity ?? 1 };
  });
  const { subscription, invoice } = createSubscription(ctx, em, {
    customer,
    items,
    metadata: extras.subscriptionData.metadata,
    description: extras.subscriptionData.description,
    trialEnd: trialDays > 0 ? now + trialDays * 86_400 : null,
    automaticTax: session.automatic_tax.enabled,
    firstPayment: opts.paymentFails ? 'fails' : 'succeeds',
    // No card was asked for: a trial checked out with payment_method_collection if_required.
    defaultPaymentMethod: session.payment_method_collection === 'if_required' && trialDays > 0 ? null : `pm_${randomAlnum(24)}`,
  });

  session.status = 'complete';
  session.payment_status = invoice.status === 'paid' ? (invoice.amount_paid === 0 ? 'no_payment_required' : 'paid') : 'unpaid';
  session.customer = customer.id;
  session.subscription = subscription.id;
  session.invoice = invoice.id;
  session.url = null;
  session.amount_subtotal = invoice.subtotal;
  session.amount_total = invoice.total;
  session.customer_details = {
    address: null,
    business_name: null,
    email: customer.email,
    individual_name: null,
    name: customer.name ?? null,
    phone: null,
    tax_exempt: 'none',
    tax_ids: [],
  };
  session.collected_information = { business_name: null, individual_name: null, shipping_details: null };
  ctx.bus.emit(em, 'checkout.session.completed', session);
  return { session, customer, subscription, invoice };
}

/** The session expires unpaid: checkout.session.expired. */
export function expireCheckout(ctx: Ctx, em: Emission, session: Stripe.Checkout.Session): Stripe.Checkout.Session {
  if (session.status !== 'open') {
    throw errors.badRequest(`Only Checkout Sessions with a status in ["open"] can be expired. This session has status ${session.status}.`);
  }
  session.status = 'expired';
  session.url = null;
  ctx.bus.emit(em, 'checkout.session.expired', session);
  return session;
}
