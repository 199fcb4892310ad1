import type Stripe from 'stripe';
import { fixture } from '../fixtures.ts';
import { newId } from '../ids.ts';

type Flow = Stripe.BillingPortal.Session.Flow;
type FlowData = Stripe.BillingPortal.SessionCreateParams.FlowData;

export interface PortalSessionFields {
  customer: string;
  returnUrl: string | null;
  configuration: string;
  locale: Stripe.BillingPortal.Session.Locale | null;
  /** Already checked against the customer's subscriptions (api/portal-sessions.ts). */
  flow: FlowData | null;
  url: (id: string) => string;
}

/** The session's `flow` as Stripe answers it: every type's hash present, null unless it is the flow's. */
export function buildFlow(data: FlowData): Flow {
  const after = data.after_completion;
  const cancel = data.subscription_cancel;
  const confirm = data.subscription_update_confirm;
  return {
    type: data.type,
    after_completion: {
      type: after?.type ?? 'portal_homepage',
      redirect: after?.type === 'redirect' && after.redirect ? { return_url: after.redirect.return_url } : null,
      hosted_confirmation: after?.type === 'hosted_confirmation' ? { custom_message: after.hosted_confirmation?.custom_message ?? null } : null,
    },
    customer_update: null,
    subscription_cancel: data.type === 'subscription_cancel' && cancel ? { subscription: cancel.subscription, retention: null } : null,
    subscription_pause: null,
    subscription_update: null,
    subscription_update_confirm: data.type === 'subscription_update_confirm' && confirm
      ? {
          subscription: confirm.subscription,
          discounts: [],
          items: confirm.items.map((i) => ({ id: i.id, price: i.price ?? null, ...(i.quantity !== undefined ? { quantity: i.quantity } : {}) })),
        }
      : null,
  };
}

export function buildPortalSession(created: number, f: PortalSessionFields): Stripe.BillingPortal.Session {
  const s = fixture('billing_portal.session');
  s.id = newId.portalSession();
  s.created = created;
  s.livemode = false;
  s.customer = f.customer;
  s.customer_account = null;
  s.configuration = f.configuration;
  s.flow = f.flow && buildFlow(f.flow);
  s.locale = f.locale;
  s.on_behalf_of = null;
  s.return_url = f.returnUrl;
  s.url = f.url(s.id);
  return s;
}
