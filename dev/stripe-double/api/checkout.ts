/** /v1/checkout/sessions (subscription mode). */
import type Stripe from 'stripe';
import { expireCheckout } from '../billing/checkout.ts';
import { isMetered } from '../objects/subscription.ts';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import { snapshot } from '../fixtures.ts';
import { paginate } from '../list.ts';
import { buildCheckoutLineItem, buildCheckoutSession } from '../objects/checkout.ts';
import { any, bool, map, mergeMetadata, PAGINATION, parseParams, range, str, strArray, unsupported, type Fields, type Spec } from '../params.ts';
import type { ApiResponse, Router } from '../router.ts';
import { expandPaths } from '../expand.ts';
import { find, productName } from '../store.ts';
import { inRange, listResponse, mutate, type ExpandParam, type ListParams, type RangeParam } from './common.ts';

const LINE_ITEM: Spec = {
  t: 'object',
  fields: {
    price: str,
    quantity: { t: 'integer', min: 1 },
    metadata: map,
    price_data: unsupported,
    adjustable_quantity: any,
    dynamic_tax_rates: any,
    tax_rates: any,
  },
};

const SUBSCRIPTION_DATA: Spec = {
  t: 'object',
  fields: {
    metadata: map,
    trial_period_days: { t: 'integer', min: 1 },
    description: str,
    trial_end: unsupported,
    trial_settings: any,
    billing_cycle_anchor: any,
    billing_cycle_anchor_config: any,
    billing_mode: any,
    default_tax_rates: any,
    invoice_settings: any,
    on_behalf_of: any,
    pending_invoice_item_interval: any,
    proration_behavior: any,
    transfer_data: any,
    application_fee_percent: any,
  },
};

const CREATE_FIELDS: Fields = {
  mode: { t: 'string', enum: ['payment', 'setup', 'subscription'] },
  line_items: { t: 'array', of: LINE_ITEM },
  customer: str,
  customer_email: str,
  client_reference_id: str,
  metadata: map,
  subscription_data: SUBSCRIPTION_DATA,
  allowed_payment_method_types: strArray,
  allow_promotion_codes: bool,
  automatic_tax: { t: 'object', required: ['enabled'], fields: { enabled: bool, liability: any } },
  billing_address_collection: { t: 'string', enum: ['auto', 'required'] },
  locale: str,
  success_url: str,
  cancel_url: str,
  expires_at: { t: 'integer' },
  ui_mode: { t: 'string', enum: ['hosted_page', 'embedded_page', 'elements', 'form'] }, // since 2026-03-25.dahlia (was hosted, embedded, custom)
  // Accepted by Stripe; the double does not model it, so it rejects it.
  discounts: unsupported,
  // Accepted by Stripe; the double does not model them.
  customer_update: any,
  consent_collection: any,
  custom_fields: any,
  custom_text: any,
  tax_id_collection: any,
  phone_number_collection: any,
  payment_method_collection: { t: 'string', enum: ['always', 'if_required'] },
  payment_method_configuration: any,
  payment_method_options: any,
  saved_payment_method_options: any,
  submit_type: any,
  adaptive_pricing: any,
  after_expiration: any,
  branding_settings: any,
  currency: any,
  customer_account: any,
  customer_creation: any,
  excluded_payment_method_types: any,
  integration_identifier: any,
  invoice_creation: any,
  managed_payments: any,
  name_collection: any,
  optional_items: any,
  origin_context: any,
  payment_intent_data: any,
  payment_method_data: any,
  permissions: any,
  redirect_on_completion: any,
  return_url: any,
  setup_intent_data: any,
  shipping_address_collection: any,
  shipping_options: any,
  wallet_options: any,
};

interface CreateParams extends ExpandParam {
  payment_method_collection?: 'always' | 'if_required';
  mode?: string;
  line_items?: Array<{ price?: string; quantity?: number; metadata?: Record<string, string> | null }>;
  customer?: string;
  customer_email?: string;
  client_reference_id?: string;
  metadata?: Record<string, string> | null;
  subscription_data?: { metadata?: Record<string, string> | null; trial_period_days?: number; description?: string };
  allowed_payment_method_types?: string[];
  allow_promotion_codes?: boolean;
  automatic_tax?: { enabled: boolean };
  billing_address_collection?: Stripe.Checkout.Session.BillingAddressCollection;
  locale?: Stripe.Checkout.Session.Locale;
  success_url?: string;
  cancel_url?: string;
  expires_at?: number;
  ui_mode?: string;
}

interface SessionListParams extends ListParams {
  customer?: string;
  subscription?: string;
  status?: string;
  created?: RangeParam;
}

export function checkoutRoutes(router: Router, ctx: Ctx): void {
  const { store, clock, bus, urls } = ctx;

  /** A session snapshot; `line_items` is only included when expanded, like Stripe. */
  function sessionBody(session: Stripe.Checkout.Session, expand: string[] | undefined, prefix = ''): Stripe.Checkout.Session {
    const copy = snapshot(session);
    const rest: string[] = [];
    for (const path of expand ?? []) {
      if (path === `${prefix}line_items`) {
        const items = store.checkoutExtras.get(session.id)?.lineItems ?? [];
        copy.line_items = { object: 'list', data: snapshot(items), has_more: false, url: `/v1/checkout/sessions/${session.id}/line_items` };
      } else if (path.startsWith(prefix)) {
        rest.push(path.slice(prefix.length));
      } else {
        throw errors.invalidParam('expand', `This property cannot be expanded (${path}). You may want to try expanding 'data.${path}' instead.`);
      }
    }
    return expandPaths(copy, rest, store);
  }

  router.post('/v1/checkout/sessions', (req) => {
    const p = parseParams<CreateParams>(CREATE_FIELDS, req.input);
    if (p.mode === undefined) throw errors.missingParam('mode');
    if (p.mode !== 'subscription') {
      throw errors.invalidParam('mode', `The Stripe double supports Checkout only in subscription mode (got mode=${p.mode}).`);
    }
    if (p.ui_mode !== undefined && p.ui_mode !== 'hosted_page') {
      throw errors.invalidParam('ui_mode', 'The Stripe double supports only hosted Checkout.');
    }
    if (p.customer !== undefined && p.customer_email !== undefined) {
      throw errors.invalidParam('customer_email', 'You may only specify one of these parameters: customer, customer_email.', 'parameters_exclusive');
    }
    if (p.customer !== undefined) find(store.customers, p.customer, 'customer', 'customer');
    if (!p.line_items || p.line_items.length === 0) throw errors.missingParam('line_items');
    const lineItems = p.line_items.map((li, i) => {
      if (li.price === undefined) throw errors.missingParam(`line_items[${i}][price]`);
      const price = find(store.prices, li.price, 'price', `line_items[${i}][price]`);
      if (!price.active) throw errors.invalidParam(`line_items[${i}][price]`, `The price specified is inactive. This field only accepts active prices.`);
      if (!price.recurring) {
        throw errors.invalidParam(`line_items[${i}][price]`, 'The Stripe double supports only recurring prices in subscription mode.');
      }
      if (isMetered(price)) {
        if (li.quantity !== undefined) {
          throw errors.invalidParam(`line_items[${i}][quantity]`, `Quantity should not be specified where usage_type is \`metered\`. Remove quantity from \`line_items[${i}]\``);
        }
      } else if (li.quantity === undefined) {
        throw errors.missingParam(`line_items[${i}][quantity]`);
      }
      return buildCheckoutLineItem({
        price,
        productName: productName(store, price),
        quantity: isMetered(price) ? null : (li.quantity ?? 1),
        metadata: mergeMetadata({}, li.metadata),
      });
    });
    const now = clock.now();
    if (p.expires_at !== undefined && (p.expires_at < now + 1800 || p.expires_at > now + 86_400)) {
      throw errors.invalidParam('expires_at', 'The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.');
    }
    const trialDays = p.subscription_data?.trial_period_days ?? null;
    const session = buildCheckoutSession(now, {
      url: urls.checkout,
      ...(p.expires_at !== undefined ? { expiresAt: p.expires_at } : {}),
      lineItems,
      customer: p.customer ?? null,
      customerEmail: p.customer_email ?? null,
      clientReferenceId: p.client_reference_id ?? null,
      metadata: mergeMetadata({}, p.metadata),
      successUrl: p.success_url ?? null,
      cancelUrl: p.cancel_url ?? null,
      allowPromotionCodes: p.allow_promotion_codes ?? null,
      allowedPaymentMethodTypes: p.allowed_payment_method_types ?? null,
      automaticTax: p.automatic_tax?.enabled ?? false,
      billingAddressCollection: p.billing_address_collection ?? null,
      locale: p.locale ?? null,
      trial: trialDays !== null,
    });
    // 'if_required': Checkout asks for no card when nothing is due now (a trial).
    if (p.payment_method_collection) session.payment_method_collection = p.payment_method_collection;
    store.checkoutSessions.set(session);
    store.checkoutExtras.set(session.id, {
      lineItems,
      subscriptionData: {
        metadata: mergeMetadata({}, p.subscription_data?.metadata),
        trialPeriodDays: trialDays,
        description: p.subscription_data?.description ?? null,
      },
    });
    return { body: sessionBody(session, p.expand) };
  });

  router.get('/v1/checkout/sessions/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return { body: sessionBody(find(store.checkoutSessions, req.params.id ?? '', 'checkout.session'), p.expand) };
  });

  router.get('/v1/checkout/sessions/:id/line_items', (req) => {
    const p = parseParams<ListParams>(PAGINATION, req.input);
    const session = find(store.checkoutSessions, req.params.id ?? '', 'checkout.session');
    const items = store.checkoutExtras.get(session.id)?.lineItems ?? [];
    return listResponse(ctx, items, p, `/v1/checkout/sessions/${session.id}/line_items`, 'line item');
  });

  router.get('/v1/checkout/sessions', (req) => {
    const p = parseParams<SessionListParams>(
      {
        ...PAGINATION,
        customer: str,
        subscription: str,
        status: { t: 'string', enum: ['open', 'complete', 'expired'] },
        created: range,
        customer_account: any,
        customer_details: any,
        payment_intent: any,
        payment_link: any,
      },
      req.input,
    );
    const items = store.checkoutSessions.newestFirst().filter(
      (s) =>
        (p.customer === undefined || s.customer === p.customer) &&
        (p.subscription === undefined || s.subscription === p.subscription) &&
        (p.status === undefined || s.status === p.status) &&
        inRange(s.created, p.created),
    );
    const list = paginate(items, p, '/v1/checkout/sessions', 'checkout.session');
    const body: Stripe.ApiList<Stripe.Checkout.Session> = { ...list, data: list.data.map((s) => sessionBody(s, p.expand, 'data.')) };
    return { body };
  });

  router.post('/v1/checkout/sessions/:id/expire', (req): ApiResponse => {
    const p = parseParams<ExpandParam>({}, req.input);
    const session = find(store.checkoutSessions, req.params.id ?? '', 'checkout.session');
    mutate(ctx, req, (em) => expireCheckout(ctx, em, session));
    return { body: sessionBody(session, p.expand) };
  });
}
