/**
 * POST /v1/billing_portal/sessions, with Stripe's deep links (`flow_data`): the session opens
 * on one task (add a payment method, cancel a subscription, confirm a given plan change) and,
 * once it is done, goes where `after_completion` says. Checked the way Stripe checks it:
 * the subscription must be the customer's and still live, the task must be enabled in the
 * portal configuration, and a plan change names exactly one of the subscription's items and
 * a price the configuration offers. The hosted page (pages/portal.ts) carries the task out.
 */
import type Stripe from 'stripe';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import { snapshot } from '../fixtures.ts';
import { expandPaths } from '../expand.ts';
import { buildPortalSession } from '../objects/portal.ts';
import { any, str, parseParams, unsupported, type Spec } from '../params.ts';
import type { Router } from '../router.ts';
import { find, idOf } from '../store.ts';
import { mutate, type ExpandParam } from './common.ts';

type FlowData = Stripe.BillingPortal.SessionCreateParams.FlowData;
type Configuration = Stripe.BillingPortal.Configuration;

/** The flows the double's portal page carries out; Stripe's others are refused as not modelled. */
const MODELLED = ['payment_method_update', 'subscription_cancel', 'subscription_update_confirm'];

const FLOW_DATA: Spec = {
  t: 'object',
  required: ['type'],
  fields: {
    type: { t: 'string', enum: [...MODELLED, 'subscription_update', 'subscription_pause', 'customer_update'] },
    after_completion: {
      t: 'object',
      required: ['type'],
      fields: {
        type: { t: 'string', enum: ['hosted_confirmation', 'portal_homepage', 'redirect'] },
        redirect: { t: 'object', required: ['return_url'], fields: { return_url: str } },
        hosted_confirmation: { t: 'object', fields: { custom_message: str } },
      },
    },
    subscription_cancel: { t: 'object', required: ['subscription'], fields: { subscription: str, retention: unsupported } },
    subscription_update_confirm: {
      t: 'object',
      required: ['subscription', 'items'],
      fields: {
        subscription: str,
        items: { t: 'array', of: { t: 'object', required: ['id'], fields: { id: str, price: str, quantity: { t: 'integer', min: 0 } } } },
        discounts: unsupported,
      },
    },
    subscription_update: unsupported,
    subscription_pause: unsupported,
  },
};

interface SessionParams extends ExpandParam {
  customer?: string;
  return_url?: string;
  configuration?: string;
  locale?: Stripe.BillingPortal.Session.Locale;
  flow_data?: FlowData;
}

const ENDED: readonly string[] = ['canceled', 'incomplete_expired'];

export function portalSessionRoutes(router: Router, ctx: Ctx): void {
  const { store, clock, bus, urls } = ctx;

  /** The configuration named, else the account's default one; null: none exists (everything allowed). */
  function configurationOf(id: string | undefined): Configuration | null {
    if (id !== undefined) return find(store.portalConfigurations, id, 'billing_portal.configuration', 'configuration');
    return store.portalConfigurations.values().find((c) => c.is_default && c.active) ?? null;
  }

  function requireFeature(config: Configuration | null, feature: 'payment_method_update' | 'subscription_cancel' | 'subscription_update', flow: string): void {
    if (config && !config.features[feature].enabled) {
      throw errors.badRequest(`The \`${flow}\` flow cannot be used because \`features.${feature}\` is disabled in the portal configuration ${config.id}.`, 'flow_data[type]');
    }
  }

  /** The customer's live subscription that a flow names. */
  function subscriptionFor(customer: string, id: string, param: string): Stripe.Subscription {
    const sub = find(store.subscriptions, id, 'subscription', param);
    if (idOf(sub.customer) !== customer) throw errors.badRequest(`The subscription ${id} does not belong to the customer ${customer}.`, param);
    if (ENDED.includes(sub.status)) throw errors.badRequest(`The subscription ${id} has ended (status ${sub.status}): it cannot be managed in the portal.`, param);
    return sub;
  }

  /** Stripe's checks of `flow_data`, beyond its parameters' shapes. */
  function checkFlow(flow: FlowData, customer: string, config: Configuration | null): void {
    if (!MODELLED.includes(flow.type)) {
      throw errors.invalidParam('flow_data[type]', `The Stripe double does not support the '${flow.type}' flow (Stripe does); extend dev/stripe-double if you need it.`);
    }
    for (const key of ['subscription_cancel', 'subscription_update_confirm'] as const) {
      if (flow[key] !== undefined && flow.type !== key) {
        throw errors.invalidParam(`flow_data[${key}]`, `flow_data[${key}] can only be set when flow_data[type] is ${key}.`);
      }
    }
    const after = flow.after_completion;
    if (after?.type === 'redirect' && !after.redirect) throw errors.missingParam('flow_data[after_completion][redirect]');
    if (after?.redirect && after.type !== 'redirect') {
      throw errors.invalidParam('flow_data[after_completion][redirect]', 'flow_data[after_completion][redirect] can only be set when flow_data[after_completion][type] is redirect.');
    }
    if (after?.hosted_confirmation && after.type !== 'hosted_confirmation') {
      throw errors.invalidParam('flow_data[after_completion][hosted_confirmation]', 'flow_data[after_completion][hosted_confirmation] can only be set when flow_data[after_completion][type] is hosted_confirmation.');
    }

    if (flow.type === 'payment_method_update') {
      requireFeature(config, 'payment_method_update', flow.type);
    } else if (flow.type === 'subscription_cancel') {
      if (!flow.subscription_cancel) throw errors.missingParam('flow_data[subscription_cancel]');
      requireFeature(config, 'subscription_cancel', flow.type);
      const param = 'flow_data[subscription_cancel][subscription]';
      const sub = subscriptionFor(customer, flow.subscription_cancel.subscription, param);
      if (sub.cancel_at_period_end || sub.cancel_at !== null) throw errors.badRequest(`The subscription ${sub.id} is already set to be canceled.`, param);
    } else {
      const confirm = flow.subscription_update_confirm;
      if (!confirm) throw errors.missingParam('flow_data[subscription_update_confirm]');
      requireFeature(config, 'subscription_update', flow.type);
      const base = 'flow_data[subscription_update_confirm]';
      const sub = subscriptionFor(customer, confirm.subscription, `${base}[subscription]`);
      if (confirm.items.length !== 1) throw errors.invalidParam(`${base}[items]`, `${base}[items] must contain exactly one item: only one subscription item can be updated through this flow.`);
      if (sub.items.data.length !== 1) throw errors.badRequest(`The subscription ${sub.id} has several items: subscriptions with multiple items are not updatable in the portal.`, `${base}[subscription]`);
      const item = confirm.items[0]!;
      if (item.id !== sub.items.data[0]!.id) throw errors.badRequest(`The subscription item ${item.id} does not belong to the subscription ${sub.id}.`, `${base}[items][0][id]`);
      if (item.price === undefined && item.quantity === undefined) throw errors.missingParam(`${base}[items][0][price]`);
      if (item.price !== undefined) {
        const price = find(store.prices, item.price, 'price', `${base}[items][0][price]`);
        if (!price.active || !price.recurring) throw errors.badRequest(`The price ${price.id} is not an active recurring price.`, `${base}[items][0][price]`);
        const offered = config?.features.subscription_update.products;
        if (offered && offered.length > 0 && !offered.some((p) => p.prices.includes(price.id))) {
          throw errors.badRequest(`The price ${price.id} is not included in the portal configuration's features.subscription_update.products.`, `${base}[items][0][price]`);
        }
      }
    }
  }

  router.post('/v1/billing_portal/sessions', (req) => {
    const p = parseParams<SessionParams>(
      { customer: str, return_url: str, configuration: str, locale: str, flow_data: FLOW_DATA, on_behalf_of: any, customer_account: any, after_expiration: any },
      req.input,
    );
    if (p.customer === undefined) throw errors.missingParam('customer');
    const customer = find(store.customers, p.customer, 'customer', 'customer').id;
    const config = configurationOf(p.configuration);
    if (p.flow_data) checkFlow(p.flow_data, customer, config);
    const session = mutate(ctx, req, (em) => {
      const s = buildPortalSession(clock.now(), {
        customer,
        returnUrl: p.return_url ?? null,
        configuration: config?.id ?? 'bpc_double_default',
        locale: p.locale ?? null,
        flow: p.flow_data ?? null,
        url: urls.portal,
      });
      store.portalSessions.set(s);
      bus.emit(em, 'billing_portal.session.created', s);
      return s;
    });
    return { body: expandPaths(snapshot(session), p.expand, store) };
  });
}
