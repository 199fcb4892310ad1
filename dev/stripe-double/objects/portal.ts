import type Stripe from 'stripe';
import { fixture } from '../fixtures.ts';
import { newId } from '../ids.ts';

export interface PortalSessionFields {
  customer: string;
  returnUrl: string | null;
  configuration: string;
  locale: Stripe.BillingPortal.Session.Locale | null;
  url: (id: string) => string;
}

export function buildPortalSession(created: number, f: PortalSessionFields): Stripe.BillingPortal.Session {
  const s = fixture('billing_portal.session');
  s.id = newId.portalSession();
  s.created = created;
  s.livemode = false;
  s.customer = f.customer;
  s.customer_account = null;
  s.configuration = f.configuration;
  s.flow = null;
  s.locale = f.locale;
  s.on_behalf_of = null;
  s.return_url = f.returnUrl;
  s.url = f.url(s.id);
  return s;
}
