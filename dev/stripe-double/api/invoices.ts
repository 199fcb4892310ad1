/** /v1/invoices: retrieve, list (by customer, subscription, status), lines, pay. */
import type Stripe from 'stripe';
import { invoiceSubscriptionId, payInvoice } from '../billing/invoices.ts';
import type { Ctx } from '../context.ts';
import { any, bool, PAGINATION, parseParams, range, str, unsupported } from '../params.ts';
import type { Router } from '../router.ts';
import { find } from '../store.ts';
import { inRange, listResponse, mutate, objectResponse, type ExpandParam, type ListParams, type RangeParam } from './common.ts';

interface InvoiceListParams extends ListParams {
  customer?: string;
  subscription?: string;
  status?: string;
  collection_method?: string;
  created?: RangeParam;
}

export function invoiceRoutes(router: Router, ctx: Ctx): void {
  const { store } = ctx;

  router.get('/v1/invoices/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, find(store.invoices, req.params.id ?? '', 'invoice'), p.expand);
  });

  router.get('/v1/invoices', (req) => {
    const p = parseParams<InvoiceListParams>(
      {
        ...PAGINATION,
        customer: str,
        subscription: str,
        status: { t: 'string', enum: ['draft', 'open', 'paid', 'uncollectible', 'void'] },
        collection_method: str,
        created: range,
        due_date: any,
        customer_account: any,
      },
      req.input,
    );
    const items = store.invoices.newestFirst().filter(
      (inv: Stripe.Invoice) =>
        (p.customer === undefined || inv.customer === p.customer) &&
        (p.subscription === undefined || invoiceSubscriptionId(inv) === p.subscription) &&
        (p.status === undefined || inv.status === p.status) &&
        (p.collection_method === undefined || inv.collection_method === p.collection_method) &&
        inRange(inv.created, p.created),
    );
    return listResponse(ctx, items, p, '/v1/invoices', 'invoice');
  });

  router.get('/v1/invoices/:id/lines', (req) => {
    const p = parseParams<ListParams>(PAGINATION, req.input);
    const inv = find(store.invoices, req.params.id ?? '', 'invoice');
    // Invoice lines keep their order (oldest first), unlike most lists.
    return listResponse(ctx, inv.lines.data, p, `/v1/invoices/${inv.id}/lines`, 'line item');
  });

  router.post('/v1/invoices/:id/pay', (req) => {
    const p = parseParams<ExpandParam>(
      { forgive: bool, off_session: bool, paid_out_of_band: bool, payment_method: str, source: unsupported, mandate: unsupported },
      req.input,
    );
    const inv = find(store.invoices, req.params.id ?? '', 'invoice');
    mutate(ctx, req, (em) => payInvoice(ctx, em, inv));
    return objectResponse(ctx, inv, p.expand);
  });
}
