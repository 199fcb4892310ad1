/** /v1/invoices: retrieve, list (by customer, subscription, status), lines, pay. */
import type Stripe from 'stripe';
import { invoiceSubscriptionId, payInvoice, voidInvoice } from '../billing/invoices.ts';
import { previewInvoice } from '../billing/preview.ts';
import { checkProrationDate, type ItemRequest, type ProrationBehavior } from '../billing/proration.ts';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import { any, bool, map, PAGINATION, parseParams, range, str, unsupported } from '../params.ts';
import type { Router } from '../router.ts';
import { currentPeriod } from '../objects/subscription.ts';
import { find, idOf } from '../store.ts';
import { inRange, listResponse, mutate, objectResponse, recurringPrice, type ExpandParam, type ListParams, type RangeParam } from './common.ts';

interface PreviewParams extends ExpandParam {
  customer?: string;
  subscription?: string;
  schedule?: string;
  subscription_details?: {
    items?: Array<{ id?: string; price?: string; quantity?: number; deleted?: boolean; metadata?: Record<string, string> | null }>;
    proration_behavior?: ProrationBehavior;
    proration_date?: number;
    billing_cycle_anchor?: { type: 'now' | 'unchanged' };
  };
}

const PREVIEW_ITEM = {
  t: 'object',
  fields: { id: str, price: str, quantity: { t: 'integer', min: 0 }, deleted: bool, metadata: map, clear_usage: any, price_data: unsupported, discounts: unsupported, tax_rates: any, billing_thresholds: unsupported },
} as const;

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

  router.post('/v1/invoices/create_preview', (req) => {
    const p = parseParams<PreviewParams>(
      {
        customer: str,
        subscription: str,
        schedule: str,
        subscription_details: {
          t: 'object',
          fields: {
            items: { t: 'array', of: PREVIEW_ITEM },
            proration_behavior: { t: 'string', enum: ['always_invoice', 'create_prorations', 'none'] },
            proration_date: { t: 'integer' },
            billing_mode: any,
            default_tax_rates: any,
            metadata: any,
            // A hash in the pinned version; `timestamp` is not modelled.
            billing_cycle_anchor: { t: 'object', required: ['type'], fields: { type: { t: 'string', enum: ['now', 'unchanged'] }, timestamp: unsupported } },
            billing_schedules: unsupported,
            cancel_at: unsupported,
            cancel_at_period_end: unsupported,
            cancel_now: unsupported,
            pause: unsupported,
            resume_at: unsupported,
            start_date: unsupported,
            trial_end: unsupported,
          },
        },
        automatic_tax: any,
        currency: any,
        issuer: any,
        preview_mode: any,
        customer_account: any,
        customer_details: unsupported,
        discounts: unsupported,
        invoice_items: unsupported,
        on_behalf_of: unsupported,
        schedule_details: unsupported,
      },
      req.input,
    );
    let subId = p.subscription;
    if (p.schedule !== undefined) {
      const sched = find(store.subscriptionSchedules, p.schedule, 'subscription_schedule', 'schedule');
      if (!sched.subscription) throw errors.invalidParam('schedule', `The schedule ${sched.id} has no subscription to preview (status ${sched.status}).`);
      subId = idOf(sched.subscription);
    }
    if (subId === undefined) {
      if (p.customer === undefined) throw errors.missingParam('customer');
      find(store.customers, p.customer, 'customer', 'customer');
      const live = store.subscriptions.values().filter((x) => idOf(x.customer) === p.customer && x.status !== 'canceled');
      if (live.length !== 1 || !live[0]) throw errors.invalidParam('subscription', 'The Stripe double previews one subscription\'s invoice: pass `subscription`.');
      subId = live[0].id;
    }
    const sub = find(store.subscriptions, subId, 'subscription', p.schedule !== undefined ? 'schedule' : 'subscription');
    if (p.customer !== undefined && idOf(sub.customer) !== p.customer) {
      throw errors.invalidParam('subscription', `The subscription ${sub.id} does not belong to the customer ${p.customer}.`);
    }
    // Nothing comes next for a subscription that has ended or ends with its period (unless the preview changes it).
    const period = currentPeriod(sub);
    const ends = sub.cancel_at_period_end || (sub.cancel_at !== null && sub.cancel_at <= period.end);
    if (sub.status === 'canceled' || (ends && !p.subscription_details?.items)) throw errors.noUpcomingInvoice(idOf(sub.customer));
    const details = p.subscription_details ?? {};
    const now = ctx.clock.now();
    if (details.proration_date !== undefined) checkProrationDate(sub, details.proration_date, 'subscription_details[proration_date]');
    const requests: ItemRequest[] | undefined = details.items?.map((item, i) => {
      const param = `subscription_details[items][${i}]`;
      const existing = item.id === undefined ? undefined : sub.items.data.find((x) => x.id === item.id);
      if (item.id !== undefined && !existing) throw errors.noSuchParamObject('subscription item', item.id, `${param}[id]`);
      if (!existing && item.price === undefined) throw errors.missingParam(`${param}[price]`);
      return {
        ...(existing ? { existing } : {}),
        ...(item.price !== undefined ? { price: recurringPrice(ctx, item.price, `${param}[price]`) } : {}),
        ...(item.quantity !== undefined ? { quantity: item.quantity } : {}),
        ...(item.metadata !== undefined ? { metadata: item.metadata } : {}),
        ...(item.deleted ? { deleted: true } : {}),
      };
    });
    const invoice = previewInvoice(ctx, {
      sub,
      ...(requests ? { requests } : {}),
      behavior: details.proration_behavior ?? 'create_prorations',
      prorationDate: details.proration_date ?? now,
      resetAnchor: details.billing_cycle_anchor?.type === 'now',
    });
    return objectResponse(ctx, invoice, p.expand);
  });

  router.post('/v1/invoices/:id/void', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    const inv = find(store.invoices, req.params.id ?? '', 'invoice');
    mutate(ctx, req, (em) => voidInvoice(ctx, em, inv));
    return objectResponse(ctx, inv, p.expand);
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
