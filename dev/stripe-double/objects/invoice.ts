import type Stripe from 'stripe';
import { fixture, wireDecimal } from '../fixtures.ts';
import { newId } from '../ids.ts';
import { idOf } from '../store.ts';

export interface InvoiceLineFields {
  price: Stripe.Price;
  quantity: number;
  amount: number;
  description: string;
  periodStart: number;
  periodEnd: number;
  subscription: string;
  subscriptionItem: string;
  /** A proration (credit for unused time, charge for the remaining time): not discountable. */
  proration?: boolean;
  /** The invoice item (ii_) a create_prorations proration was kept as until this invoice. */
  invoiceItem?: string | null;
}

export function buildInvoiceLine(invoiceId: string, fields: InvoiceLineFields): Stripe.InvoiceLineItem {
  const l = fixture('line_item');
  l.id = newId.invoiceLine();
  l.invoice = invoiceId;
  l.livemode = false;
  l.amount = fields.amount;
  l.subtotal = fields.amount;
  l.currency = fields.price.currency;
  l.description = fields.description;
  l.discount_amounts = [];
  l.discountable = !fields.proration;
  l.discounts = [];
  l.metadata = {};
  l.period = { start: fields.periodStart, end: fields.periodEnd };
  l.quantity = fields.quantity;
  l.quantity_decimal = wireDecimal(fields.quantity);
  l.subscription = fields.subscription;
  l.pretax_credit_amounts = [];
  l.taxes = [];
  l.parent = {
    type: 'subscription_item_details',
    invoice_item_details: null,
    subscription_item_details: {
      invoice_item: fields.invoiceItem ?? null,
      proration: fields.proration ?? false,
      proration_details: { credited_items: null },
      subscription: fields.subscription,
      subscription_item: fields.subscriptionItem,
    },
  };
  l.pricing = {
    type: 'price_details',
    price_details: { price: fields.price.id, product: idOf(fields.price.product) },
    unit_amount_decimal: fields.price.unit_amount_decimal,
  };
  return l;
}

export interface InvoiceFields {
  customer: Stripe.Customer;
  subscription: Stripe.Subscription;
  billingReason: Stripe.Invoice.BillingReason;
  lines: InvoiceLineFields[];
  periodStart: number;
  periodEnd: number;
}

/** A draft subscription invoice; billing/invoices.ts moves it through open, paid. */
export function buildInvoice(created: number, fields: InvoiceFields): Stripe.Invoice {
  const inv = fixture('invoice');
  const id = newId.invoice();
  const lines = fields.lines.map((l) => buildInvoiceLine(id, l));
  const total = lines.reduce((sum, l) => sum + l.amount, 0);
  // A credit left on the customer's balance (negative) pays for this invoice first.
  const startingBalance = fields.customer.balance ?? 0;
  const due = Math.max(0, total + startingBalance);
  const automaticTax = fields.subscription.automatic_tax.enabled;
  inv.id = id;
  inv.created = created;
  inv.livemode = false;
  inv.account_country = 'US';
  inv.account_name = 'Stripe Double';
  inv.account_tax_ids = null;
  inv.amount_due = due;
  inv.amount_paid = 0;
  inv.amount_remaining = due;
  inv.amount_shipping = 0;
  inv.amount_overpaid = 0;
  inv.application = null;
  inv.attempt_count = 0;
  inv.attempted = false;
  inv.auto_advance = true;
  inv.automatic_tax = automaticTax
    ? { enabled: true, liability: { type: 'self' }, status: 'complete', disabled_reason: null, provider: 'stripe' }
    : { enabled: false, liability: null, status: null, disabled_reason: null, provider: null };
  inv.automatically_finalizes_at = created + 3600;
  inv.billing_reason = fields.billingReason;
  inv.collection_method = 'charge_automatically';
  inv.currency = fields.subscription.currency;
  inv.custom_fields = null;
  inv.customer = fields.customer.id;
  inv.customer_account = null;
  inv.customer_address = null;
  inv.customer_email = fields.customer.email;
  inv.customer_name = fields.customer.name ?? null;
  inv.customer_phone = fields.customer.phone ?? null;
  inv.customer_shipping = null;
  inv.customer_tax_exempt = 'none';
  inv.customer_tax_ids = [];
  inv.default_payment_method = null;
  inv.default_source = null;
  inv.default_tax_rates = [];
  inv.description = null;
  inv.discounts = [];
  inv.due_date = null;
  inv.effective_at = null;
  inv.ending_balance = null;
  inv.footer = null;
  inv.from_invoice = null;
  inv.hosted_invoice_url = null;
  inv.invoice_pdf = null;
  inv.issuer = { type: 'self' };
  inv.last_finalization_error = null;
  inv.latest_revision = null;
  inv.lines = { object: 'list', data: lines, has_more: false, url: `/v1/invoices/${id}/lines` };
  inv.metadata = {};
  inv.next_payment_attempt = null;
  inv.number = null;
  inv.on_behalf_of = null;
  inv.parent = {
    type: 'subscription_details',
    quote_details: null,
    subscription_details: { metadata: { ...fields.subscription.metadata }, subscription: fields.subscription.id },
  };
  inv.payment_settings = { default_mandate: null, payment_method_options: null, payment_method_types: null };
  inv.period_start = fields.periodStart;
  inv.period_end = fields.periodEnd;
  inv.post_payment_credit_notes_amount = 0;
  inv.pre_payment_credit_notes_amount = 0;
  inv.receipt_number = null;
  inv.rendering = { amount_tax_display: null, pdf: { page_size: 'auto' }, template: null, template_version: null };
  inv.shipping_cost = null;
  inv.shipping_details = null;
  inv.starting_balance = startingBalance;
  inv.statement_descriptor = null;
  inv.status = 'draft';
  inv.status_transitions = { finalized_at: null, marked_uncollectible_at: null, paid_at: null, voided_at: null };
  inv.subtotal = total;
  inv.subtotal_excluding_tax = total;
  inv.test_clock = null;
  inv.total = total;
  inv.total_discount_amounts = [];
  inv.total_excluding_tax = total;
  inv.total_pretax_credit_amounts = [];
  inv.total_taxes = [];
  inv.webhooks_delivered_at = null;
  return inv;
}

/** "1 × Basic (at $9.00 / month)", Stripe's wording for subscription lines. */
export function lineDescription(quantity: number, productName: string, price: Stripe.Price, trial: boolean): string {
  if (trial) return `Trial period for ${productName}`;
  const amount = ((price.unit_amount ?? 0) / 100).toFixed(2);
  const interval = price.recurring?.interval ?? 'month';
  return `${quantity} × ${productName} (at $${amount} / ${interval})`;
}
