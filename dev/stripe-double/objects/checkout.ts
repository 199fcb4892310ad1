import type Stripe from 'stripe';
import { fixture, snapshot } from '../fixtures.ts';
import { newId } from '../ids.ts';

export interface CheckoutLineFields {
  price: Stripe.Price;
  productName: string;
  quantity: number | null;
  metadata?: Record<string, string>;
}

export function buildCheckoutLineItem(fields: CheckoutLineFields): Stripe.LineItem {
  const li = fixture('item');
  const amount = (fields.price.unit_amount ?? 0) * (fields.quantity ?? 0);
  li.id = newId.checkoutLineItem();
  li.adjustable_quantity = null;
  li.amount_discount = 0;
  li.amount_subtotal = amount;
  li.amount_tax = 0;
  li.amount_total = amount;
  li.currency = fields.price.currency;
  li.description = fields.productName;
  li.metadata = fields.metadata ?? {};
  li.price = snapshot(fields.price);
  li.quantity = fields.quantity;
  return li;
}

export interface CheckoutSessionFields {
  url: (id: string) => string;
  expiresAt?: number;
  lineItems: Stripe.LineItem[];
  customer: string | null;
  customerEmail: string | null;
  clientReferenceId: string | null;
  metadata: Record<string, string>;
  successUrl: string | null;
  cancelUrl: string | null;
  allowPromotionCodes: boolean | null;
  allowedPaymentMethodTypes: string[] | null;
  automaticTax: boolean;
  billingAddressCollection: Stripe.Checkout.Session.BillingAddressCollection | null;
  locale: Stripe.Checkout.Session.Locale | null;
  trial: boolean;
}

export function buildCheckoutSession(created: number, f: CheckoutSessionFields): Stripe.Checkout.Session {
  const s = fixture('checkout.session');
  const id = newId.checkoutSession();
  const subtotal = f.lineItems.reduce((sum, li) => sum + li.amount_subtotal, 0);
  const dueNow = f.trial ? 0 : subtotal;
  s.id = id;
  s.created = created;
  s.expires_at = f.expiresAt ?? created + 86_400;
  s.livemode = false;
  s.mode = 'subscription';
  s.status = 'open';
  s.payment_status = 'unpaid';
  s.url = f.url(id);
  s.adaptive_pricing = { enabled: false };
  s.after_expiration = null;
  s.allow_promotion_codes = f.allowPromotionCodes;
  s.allowed_payment_method_types = f.allowedPaymentMethodTypes;
  s.amount_subtotal = dueNow;
  s.amount_total = dueNow;
  s.automatic_tax = f.automaticTax
    ? { enabled: true, liability: { type: 'self' }, status: 'complete', provider: 'stripe' }
    : { enabled: false, liability: null, status: null, provider: null };
  s.billing_address_collection = f.billingAddressCollection;
  s.cancel_url = f.cancelUrl;
  s.success_url = f.successUrl;
  s.client_reference_id = f.clientReferenceId;
  s.client_secret = null;
  s.collected_information = null;
  s.consent = null;
  s.consent_collection = null;
  s.currency = f.lineItems[0]?.currency ?? 'usd';
  s.currency_conversion = null;
  s.custom_fields = [];
  s.custom_text = { after_submit: null, shipping_address: null, submit: null, terms_of_service_acceptance: null };
  s.customer = f.customer;
  s.customer_account = null;
  s.customer_creation = f.customer ? null : 'always';
  s.customer_details = null;
  s.customer_email = f.customerEmail;
  s.discounts = [];
  s.integration_identifier = null;
  s.invoice = null;
  s.invoice_creation = null;
  s.locale = f.locale;
  s.managed_payments = null;
  s.metadata = f.metadata;
  s.origin_context = null;
  s.payment_intent = null;
  s.payment_link = null;
  s.payment_method_collection = 'always';
  s.payment_method_configuration_details = null;
  s.payment_method_options = {};
  s.payment_method_types = f.allowedPaymentMethodTypes ?? ['card'];
  s.permissions = null;
  s.phone_number_collection = { enabled: false };
  s.recovered_from = null;
  s.saved_payment_method_options = { allow_redisplay_filters: null, payment_method_remove: null, payment_method_save: null };
  s.setup_intent = null;
  s.shipping_address_collection = null;
  s.shipping_cost = null;
  s.shipping_options = [];
  s.submit_type = null;
  s.subscription = null;
  s.total_details = { amount_discount: 0, amount_shipping: 0, amount_tax: 0 };
  s.ui_mode = 'hosted_page'; // the default since 2026-03-25.dahlia ('hosted' before)
  s.wallet_options = null;
  return s;
}
