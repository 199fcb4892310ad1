import type Stripe from 'stripe';
import { fixture } from '../fixtures.ts';
import { invoicePrefix } from '../ids.ts';

export interface CustomerFields {
  email?: string | null;
  name?: string | null;
  description?: string | null;
  phone?: string | null;
  metadata?: Record<string, string>;
  preferred_locales?: string[];
}

export function buildCustomer(id: string, created: number, fields: CustomerFields): Stripe.Customer {
  const c = fixture('customer');
  c.id = id;
  c.created = created;
  c.livemode = false;
  c.email = fields.email ?? null;
  c.name = fields.name ?? null;
  c.description = fields.description ?? null;
  c.phone = fields.phone ?? null;
  c.metadata = fields.metadata ?? {};
  c.preferred_locales = fields.preferred_locales ?? [];
  c.address = null;
  c.shipping = null;
  c.balance = 0;
  c.currency = null;
  c.default_source = null;
  c.delinquent = false;
  c.discount = null;
  c.invoice_prefix = invoicePrefix();
  c.next_invoice_sequence = 1;
  c.tax_exempt = 'none';
  c.test_clock = null;
  c.invoice_settings = { custom_fields: null, default_payment_method: null, footer: null, rendering_options: null };
  return c;
}

export function buildDeletedCustomer(id: string): Stripe.DeletedCustomer {
  const d = fixture('deleted_customer');
  d.id = id;
  return d;
}
