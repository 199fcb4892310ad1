/** /v1/subscriptions: create, retrieve, list, update, cancel (DELETE), resume. */
import type Stripe from 'stripe';
import { applyCancelAt, applyScheduleCancel, cancelNow, createSubscription, renewPeriod, requireLive, resume, type FirstPayment, type NewItem } from '../billing/subscriptions.ts';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import { snapshot } from '../fixtures.ts';
import { updateItems, type PaymentBehavior } from '../billing/plan-change.ts';
import { checkProrationDate, type ItemRequest, type ProrationBehavior } from '../billing/proration.ts';
import { any, bool, map, mergeMetadata, nullableStr, PAGINATION, parseParams, range, str, unsupported, type Fields, type Spec } from '../params.ts';
import type { Router } from '../router.ts';
import { find, idOf } from '../store.ts';
import { inRange, listResponse, mutate, objectResponse, recurringPrice, type ExpandParam, type ListParams, type RangeParam } from './common.ts';

const FEEDBACK = ['customer_service', 'low_quality', 'missing_features', 'other', 'switched_service', 'too_complex', 'too_expensive', 'unused'];

const CANCELLATION_DETAILS: Spec = {
  t: 'object',
  nullable: true,
  fields: { comment: nullableStr, feedback: { t: 'string', enum: FEEDBACK, nullable: true } },
};

const ITEM: Spec = {
  t: 'object',
  fields: {
    id: str,
    price: str,
    quantity: { t: 'integer', min: 0 },
    metadata: map,
    deleted: bool,
    clear_usage: any,
    price_data: unsupported,
    discounts: any,
    tax_rates: any,
    billing_thresholds: any,
    current_trial: any,
  },
};

const PAYMENT_BEHAVIOR: Spec = { t: 'string', enum: ['allow_incomplete', 'default_incomplete', 'error_if_incomplete', 'pending_if_incomplete'] };
const PRORATION: Spec = { t: 'string', enum: ['always_invoice', 'create_prorations', 'none'] };

const SHARED: Fields = {
  // Parameters Stripe takes on create/update that the double does not model: rejected, not ignored.
  add_invoice_items: unsupported,
  application_fee_percent: unsupported,
  backdate_start_date: unsupported,
  billing_cycle_anchor: unsupported,
  billing_cycle_anchor_config: unsupported,
  billing_schedules: unsupported,
  billing_thresholds: unsupported,
  coupon: unsupported,
  discounts: unsupported,
  on_behalf_of: unsupported,
  pending_invoice_item_interval: unsupported,
  promotion_code: unsupported,
  transfer_data: unsupported,
  trial_from_plan: unsupported,
  items: { t: 'array', of: ITEM },
  metadata: map,
  description: nullableStr,
  cancel_at_period_end: bool,
  default_payment_method: nullableStr,
  automatic_tax: { t: 'object', required: ['enabled'], fields: { enabled: bool, liability: any } },
  collection_method: { t: 'string', enum: ['charge_automatically', 'send_invoice'] },
  payment_behavior: PAYMENT_BEHAVIOR,
  proration_behavior: PRORATION,
  // Accepted; nothing in the double depends on them.
  off_session: bool,
  payment_settings: any,
  default_source: any,
  default_tax_rates: any,
  invoice_settings: any,
  days_until_due: any,
  trial_settings: any,
  currency: any,
  customer_account: any,
  billing_mode: any,
};

interface ItemParam {
  id?: string;
  price?: string;
  quantity?: number;
  metadata?: Record<string, string> | null;
  deleted?: boolean;
}

interface SharedParams extends ExpandParam {
  items?: ItemParam[];
  metadata?: Record<string, string> | null;
  description?: string | null;
  cancel_at_period_end?: boolean;
  default_payment_method?: string | null;
  automatic_tax?: { enabled: boolean };
  collection_method?: string;
  payment_behavior?: PaymentBehavior;
  proration_behavior?: ProrationBehavior;
}

interface CreateParams extends SharedParams {
  customer?: string;
  trial_period_days?: number;
  trial_end?: number | 'now';
}

interface UpdateParams extends SharedParams {
  cancel_at?: number | null;
  cancellation_details?: { comment?: string | null; feedback?: Stripe.Subscription.CancellationDetails.Feedback | null } | null;
  pause_collection?: { behavior: Stripe.Subscription.PauseCollection.Behavior; resumes_at?: number } | null;
  /** 'now' ends a trial at once: the first paid period starts, invoiced (failing with no payment method). */
  trial_end?: 'now';
  proration_date?: number;
  billing_cycle_anchor?: { type: 'now' | 'unchanged' };
}

/** The pinned version's `billing_cycle_anchor` on update and resume: `{ type: 'now' | 'unchanged' }` (a hash, not a string). */
const ANCHOR: Spec = { t: 'object', required: ['type'], fields: { type: { t: 'string', enum: ['now', 'unchanged'] } } };

/** What Stripe lets an update with payment_behavior=pending_if_incomplete change (docs: pending updates reference). */
const PENDING_UPDATABLE = ['expand', 'payment_behavior', 'proration_behavior', 'proration_date', 'billing_cycle_anchor', 'items', 'trial_end', 'trial_from_plan', 'add_invoice_items'];

interface SubscriptionListParams extends ListParams {
  customer?: string;
  price?: string;
  status?: string;
  created?: RangeParam;
  collection_method?: string;
}

export function subscriptionRoutes(router: Router, ctx: Ctx): void {
  const { store, clock, bus } = ctx;

  const priceFor = (id: string, param: string): Stripe.Price => recurringPrice(ctx, id, param);

  function checkShared(p: SharedParams): void {
    if (p.collection_method === 'send_invoice') {
      throw errors.invalidParam('collection_method', 'The Stripe double supports only collection_method=charge_automatically.');
    }
  }

  router.post('/v1/subscriptions', (req) => {
    const p = parseParams<CreateParams>(
      { ...SHARED, customer: str, trial_period_days: { t: 'integer', min: 0, max: 730 }, trial_end: { t: 'integer', literals: ['now'] }, cancel_at: unsupported },
      req.input,
    );
    checkShared(p);
    if (p.customer === undefined) throw errors.missingParam('customer');
    const customer = find(store.customers, p.customer, 'customer', 'customer');
    if (!p.items || p.items.length === 0) throw errors.missingParam('items');
    const items: NewItem[] = p.items.map((item, i) => {
      if (item.price === undefined) throw errors.missingParam(`items[${i}][price]`);
      return { price: priceFor(item.price, `items[${i}][price]`), quantity: item.quantity ?? 1, metadata: mergeMetadata({}, item.metadata) };
    });
    const now = clock.now();
    let trialEnd: number | null = null;
    if (typeof p.trial_end === 'number') {
      if (p.trial_end <= now) throw errors.invalidParam('trial_end', 'Invalid timestamp: must be an integer Unix timestamp in the future.');
      trialEnd = p.trial_end;
    } else if (p.trial_period_days) {
      trialEnd = now + p.trial_period_days * 86_400;
    }
    const firstPayment: FirstPayment = p.payment_behavior === 'default_incomplete' ? 'not_attempted' : 'succeeds';
    const { subscription } = mutate(ctx, req, (em) =>
      createSubscription(ctx, em, {
        customer,
        items,
        metadata: mergeMetadata({}, p.metadata),
        description: p.description ?? null,
        trialEnd,
        automaticTax: p.automatic_tax?.enabled ?? false,
        firstPayment,
        defaultPaymentMethod: p.default_payment_method ?? null,
        cancelAtPeriodEnd: p.cancel_at_period_end ?? false,
      }),
    );
    return objectResponse(ctx, subscription, p.expand);
  });

  router.get('/v1/subscriptions/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, find(store.subscriptions, req.params.id ?? '', 'subscription'), p.expand);
  });

  router.get('/v1/subscriptions', (req) => {
    const p = parseParams<SubscriptionListParams>(
      {
        ...PAGINATION,
        customer: str,
        price: str,
        status: { t: 'string', enum: ['active', 'all', 'canceled', 'ended', 'incomplete', 'incomplete_expired', 'past_due', 'paused', 'trialing', 'unpaid'] },
        created: range,
        collection_method: str,
        current_period_end: any,
        current_period_start: any,
        automatic_tax: any,
        customer_account: any,
        plan: any,
        test_clock: any,
      },
      req.input,
    );
    const statusOk = (s: Stripe.Subscription): boolean => {
      switch (p.status) {
        case undefined:
          // Stripe's default: every subscription that has not been canceled.
          return s.status !== 'canceled';
        case 'all':
          return true;
        case 'ended':
          return s.status === 'canceled' || s.status === 'incomplete_expired';
        default:
          return s.status === p.status;
      }
    };
    const items = store.subscriptions.newestFirst().filter(
      (s) =>
        statusOk(s) &&
        (p.customer === undefined || idOf(s.customer) === p.customer) &&
        (p.price === undefined || s.items.data.some((i) => i.price.id === p.price)) &&
        (p.collection_method === undefined || s.collection_method === p.collection_method) &&
        inRange(s.created, p.created),
    );
    return listResponse(ctx, items, p, '/v1/subscriptions', 'subscription');
  });

  router.post('/v1/subscriptions/:id', (req) => {
    const p = parseParams<UpdateParams>(
      {
        ...SHARED,
        cancel_at: { t: 'integer', nullable: true, literals: ['min_period_end', 'max_period_end'] },
        cancellation_details: CANCELLATION_DETAILS,
        pause_collection: {
          t: 'object',
          nullable: true,
          required: ['behavior'],
          fields: { behavior: { t: 'string', enum: ['keep_as_draft', 'mark_uncollectible', 'void'] }, resumes_at: { t: 'integer' } },
        },
        trial_end: { t: 'string', enum: ['now'] },
        proration_date: { t: 'integer' },
        billing_cycle_anchor: ANCHOR,
      },
      req.input,
    );
    checkShared(p);
    const sub = find(store.subscriptions, req.params.id ?? '', 'subscription');
    if (p.payment_behavior === 'pending_if_incomplete') {
      const other = Object.keys(p).find((k) => !PENDING_UPDATABLE.includes(k));
      if (other) throw errors.invalidParam(other, `You cannot update \`${other}\` when payment_behavior is pending_if_incomplete.`);
    }
    if (sub.schedule && (p.cancel_at_period_end !== undefined || p.cancel_at !== undefined)) {
      throw errors.badRequest(
        `The subscription is managed by the subscription schedule \`${idOf(sub.schedule)}\`, and updating any cancelation behavior directly is not allowed. Please update the schedule instead.`,
      );
    }
    const touched = Object.keys(p).filter((k) => !['expand', 'metadata', 'cancellation_details'].includes(k));
    if (sub.status === 'canceled' && touched.length > 0) {
      throw errors.badRequest('A canceled subscription can only update its cancellation_details and metadata.');
    }
    if (typeof p.cancel_at === 'string') {
      throw errors.invalidParam('cancel_at', `The Stripe double supports cancel_at as a timestamp only (got ${p.cancel_at}).`);
    }
    const now = clock.now();
    if (typeof p.cancel_at === 'number' && p.cancel_at <= now) {
      throw errors.invalidParam('cancel_at', 'cancel_at must be in the future.');
    }
    const newItems = (p.items ?? []).map((item, i) => {
      const existing = item.id === undefined ? undefined : sub.items.data.find((x) => x.id === item.id);
      if (item.id !== undefined && !existing) throw errors.noSuchParamObject('subscription item', item.id, `items[${i}][id]`);
      if (!existing && item.price === undefined) throw errors.missingParam(`items[${i}][price]`);
      const price = item.price === undefined ? undefined : priceFor(item.price, `items[${i}][price]`);
      return { item, existing, price };
    });
    if (p.trial_end === 'now' && sub.status !== 'trialing') throw errors.invalidParam('trial_end', 'trial_end can only be changed on a trialing subscription.');
    if (p.proration_date !== undefined) checkProrationDate(sub, p.proration_date, 'proration_date');
    const removed = newItems.filter((n) => n.existing && n.item.deleted).length;
    const added = newItems.filter((n) => !n.existing).length;
    if (newItems.length > 0 && sub.items.data.length - removed + added === 0) {
      throw errors.badRequest('A subscription must have at least one active plan.', 'items');
    }

    mutate(ctx, req, (em) => {
      // One request, one customer.subscription.updated carrying every change.
      const before = snapshot(sub);
      // Items first: a declined charge under error_if_incomplete throws before anything changed.
      if (newItems.length > 0 || p.billing_cycle_anchor?.type === 'now') {
        requireLive(sub);
        const requests: ItemRequest[] = newItems.map(({ item, existing, price }) => ({
          ...(existing ? { existing } : {}),
          ...(price ? { price } : {}),
          ...(item.quantity !== undefined ? { quantity: item.quantity } : {}),
          ...(item.metadata !== undefined ? { metadata: item.metadata } : {}),
          ...(item.deleted ? { deleted: true } : {}),
        }));
        updateItems(ctx, em, sub, {
          requests,
          behavior: p.proration_behavior ?? 'create_prorations',
          prorationDate: p.proration_date ?? now,
          paymentBehavior: p.payment_behavior ?? 'allow_incomplete',
          resetAnchor: p.billing_cycle_anchor?.type === 'now',
        });
      }
      const cancelChanged = p.cancel_at_period_end !== undefined && p.cancel_at_period_end !== sub.cancel_at_period_end;
      if (p.cancel_at_period_end !== undefined && cancelChanged) {
        applyScheduleCancel(ctx, sub, p.cancel_at_period_end, p.cancellation_details ?? {});
      }
      if (p.cancel_at !== undefined && p.cancel_at !== sub.cancel_at) applyCancelAt(ctx, sub, p.cancel_at);
      sub.metadata = mergeMetadata(sub.metadata, p.metadata);
      if (p.description !== undefined) sub.description = p.description;
      if (p.default_payment_method !== undefined) sub.default_payment_method = p.default_payment_method;
      if (p.automatic_tax !== undefined) sub.automatic_tax = { ...sub.automatic_tax, enabled: p.automatic_tax.enabled };
      if (p.pause_collection !== undefined) {
        sub.pause_collection = p.pause_collection ? { behavior: p.pause_collection.behavior, resumes_at: p.pause_collection.resumes_at ?? null } : null;
      }
      if (p.cancellation_details !== undefined && !cancelChanged) {
        const d = p.cancellation_details;
        sub.cancellation_details = {
          comment: d?.comment !== undefined ? d.comment : (sub.cancellation_details?.comment ?? null),
          feedback: d?.feedback !== undefined ? d.feedback : (sub.cancellation_details?.feedback ?? null),
          feedback_option: sub.cancellation_details?.feedback_option ?? null,
          reason: sub.cancellation_details?.reason ?? null,
        };
      }
      bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
      if (p.trial_end === 'now') {
        for (const item of sub.items.data) item.current_period_end = now;
        sub.trial_end = now;
        sub.billing_cycle_anchor = now;
        renewPeriod(ctx, em, sub, sub.default_payment_method === null);
      }
    });
    return objectResponse(ctx, sub, p.expand);
  });

  router.delete('/v1/subscriptions/:id', (req) => {
    const p = parseParams<ExpandParam & { cancellation_details?: { comment?: string | null; feedback?: Stripe.Subscription.CancellationDetails.Feedback | null } | null }>(
      { cancellation_details: CANCELLATION_DETAILS, invoice_now: bool, prorate: bool },
      req.input,
    );
    const sub = find(store.subscriptions, req.params.id ?? '', 'subscription');
    mutate(ctx, req, (em) => cancelNow(ctx, em, sub, p.cancellation_details ?? {}));
    return objectResponse(ctx, sub, p.expand);
  });

  router.post('/v1/subscriptions/:id/resume', (req) => {
    const p = parseParams<ExpandParam>(
      { billing_cycle_anchor: ANCHOR, payment_behavior: { t: 'string', enum: ['resume_on_payment_attempt', 'resume_on_payment_success'] }, proration_behavior: PRORATION, proration_date: any },
      req.input,
    );
    const sub = find(store.subscriptions, req.params.id ?? '', 'subscription');
    mutate(ctx, req, (em) => resume(ctx, em, sub));
    return objectResponse(ctx, sub, p.expand);
  });
}
