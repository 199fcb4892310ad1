/** /v1/customers: create, retrieve, update, list (email filter), delete. */
import type Stripe from 'stripe';
import { cancelNow } from '../billing/subscriptions.ts';
import type { Ctx } from '../context.ts';
import { newId } from '../ids.ts';
import { buildCustomer, buildDeletedCustomer } from '../objects/customer.ts';
import { any, map, mergeMetadata, nullableStr, PAGINATION, parseParams, range, str, strArray, unsupported, type Fields } from '../params.ts';
import type { Router } from '../router.ts';
import { find, idOf } from '../store.ts';
import { inRange, listResponse, mutate, objectResponse, type ExpandParam, type ListParams, type RangeParam } from './common.ts';

const EDITABLE: Fields = {
  email: nullableStr,
  name: nullableStr,
  description: nullableStr,
  phone: nullableStr,
  metadata: map,
  preferred_locales: strArray,
  // Accepted by Stripe; the double does not store them.
  address: any,
  shipping: any,
  invoice_settings: any,
  payment_method: any,
  source: any,
  tax: any,
  tax_exempt: any,
  validate: any,
  business_name: any,
  individual_name: any,
  // Accepted by Stripe; the double does not model them, so it rejects them.
  balance: unsupported,
  cash_balance: unsupported,
  invoice_prefix: unsupported,
  next_invoice_sequence: unsupported,
  tax_id_data: unsupported,
  test_clock: unsupported,
};

interface EditParams extends ExpandParam {
  email?: string | null;
  name?: string | null;
  description?: string | null;
  phone?: string | null;
  metadata?: Record<string, string> | null;
  preferred_locales?: string[];
}

interface CustomerListParams extends ListParams {
  email?: string;
  created?: RangeParam;
}

export function customerRoutes(router: Router, ctx: Ctx): void {
  const { store, clock, bus } = ctx;

  router.post('/v1/customers', (req) => {
    const p = parseParams<EditParams>(EDITABLE, req.input);
    const customer = mutate(ctx, req, (em) => {
      const c = buildCustomer(newId.customer(), clock.now(), {
        email: p.email ?? null,
        name: p.name ?? null,
        description: p.description ?? null,
        phone: p.phone ?? null,
        metadata: mergeMetadata({}, p.metadata),
        preferred_locales: p.preferred_locales ?? [],
      });
      store.customers.set(c);
      bus.emit(em, 'customer.created', c);
      return c;
    });
    return objectResponse(ctx, customer, p.expand);
  });

  router.get('/v1/customers/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    const id = req.params.id ?? '';
    if (store.deletedCustomers.has(id)) return { body: buildDeletedCustomer(id) };
    return objectResponse(ctx, find(store.customers, id, 'customer'), p.expand);
  });

  router.post('/v1/customers/:id', (req) => {
    const p = parseParams<EditParams>({ ...EDITABLE, default_source: any }, req.input);
    const customer = find(store.customers, req.params.id ?? '', 'customer');
    mutate(ctx, req, (em) => {
      const before = structuredClone(customer);
      if (p.email !== undefined) customer.email = p.email;
      if (p.name !== undefined) customer.name = p.name;
      if (p.description !== undefined) customer.description = p.description;
      if (p.phone !== undefined) customer.phone = p.phone;
      if (p.preferred_locales !== undefined) customer.preferred_locales = p.preferred_locales;
      customer.metadata = mergeMetadata(customer.metadata, p.metadata);
      bus.emitUpdated(em, 'customer.updated', before, customer);
    });
    return objectResponse(ctx, customer, p.expand);
  });

  router.get('/v1/customers', (req) => {
    const p = parseParams<CustomerListParams>({ ...PAGINATION, email: str, created: range, test_clock: any }, req.input);
    const items = store.customers
      .newestFirst()
      .filter((c) => (p.email === undefined || c.email === p.email) && inRange(c.created, p.created));
    return listResponse(ctx, items, p, '/v1/customers', 'customer');
  });

  router.delete('/v1/customers/:id', (req) => {
    parseParams({}, req.input);
    const customer = find(store.customers, req.params.id ?? '', 'customer');
    mutate(ctx, req, (em) => {
      // Deleting a customer cancels their subscriptions right away.
      for (const sub of store.subscriptions.values()) {
        if (idOf(sub.customer) === customer.id && sub.status !== 'canceled' && sub.status !== 'incomplete_expired') cancelNow(ctx, em, sub);
      }
      store.customers.delete(customer.id);
      store.deletedCustomers.add(customer.id);
      bus.emit(em, 'customer.deleted', customer);
    });
    const deleted: Stripe.DeletedCustomer = buildDeletedCustomer(customer.id);
    return { body: deleted };
  });
}
