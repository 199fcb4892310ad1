/** /v1/subscription_schedules: create (from_subscription, or customer + phases), retrieve, update, release, cancel, list. */
import type Stripe from 'stripe';
import { scheduleForCustomer, scheduleFromSubscription, cancelSchedule, releaseSchedule, updateSchedule, type PhaseInput } from '../billing/schedules.ts';
import { cancelNow, createSubscription } from '../billing/subscriptions.ts';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import { any, bool, map, mergeMetadata, PAGINATION, parseParams, range, str, unsupported, type Fields, type Spec } from '../params.ts';
import type { Router } from '../router.ts';
import { find, idOf } from '../store.ts';
import { inRange, listResponse, mutate, objectResponse, recurringPrice, type ExpandParam, type ListParams, type RangeParam } from './common.ts';

const PRORATION: Spec = { t: 'string', enum: ['always_invoice', 'create_prorations', 'none'] };
const END_BEHAVIOR: Spec = { t: 'string', enum: ['cancel', 'none', 'release', 'renew'] };
const INTERVAL: Spec = { t: 'string', enum: ['day', 'week', 'month', 'year'] };

const PHASE: Spec = {
  t: 'object',
  required: ['items'],
  fields: {
    items: {
      t: 'array',
      of: {
        t: 'object',
        required: ['price'],
        fields: { price: str, quantity: { t: 'integer', min: 0 }, metadata: map, price_data: unsupported, discounts: unsupported, tax_rates: any, billing_thresholds: unsupported },
      },
    },
    start_date: { t: 'integer', literals: ['now'] },
    end_date: { t: 'integer', literals: ['now'] },
    duration: { t: 'object', required: ['interval'], fields: { interval: INTERVAL, interval_count: { t: 'integer', min: 1 } } },
    proration_behavior: PRORATION,
    metadata: map,
    // Accepted; nothing in the double depends on them.
    automatic_tax: any,
    collection_method: any,
    currency: any,
    default_payment_method: any,
    default_tax_rates: any,
    description: any,
    invoice_settings: any,
    billing_cycle_anchor: { t: 'string', enum: ['automatic', 'phase_start'] },
    // Not modelled: refused rather than ignored.
    add_invoice_items: unsupported,
    application_fee_percent: unsupported,
    billing_thresholds: unsupported,
    discounts: unsupported,
    on_behalf_of: unsupported,
    transfer_data: unsupported,
    trial: unsupported,
    trial_end: unsupported,
    pause_schedules: unsupported,
  },
};

interface PhaseParam {
  items: Array<{ price: string; quantity?: number; metadata?: Record<string, string> | null }>;
  start_date?: number | 'now';
  end_date?: number | 'now';
  duration?: { interval: 'day' | 'week' | 'month' | 'year'; interval_count?: number };
  proration_behavior?: 'always_invoice' | 'create_prorations' | 'none';
  metadata?: Record<string, string> | null;
  billing_cycle_anchor?: 'automatic' | 'phase_start';
}

const SHARED: Fields = {
  phases: { t: 'array', of: PHASE },
  end_behavior: END_BEHAVIOR,
  metadata: map,
  default_settings: any,
  billing_mode: any,
  pause_schedules: unsupported,
};

interface SharedParams extends ExpandParam {
  phases?: PhaseParam[];
  end_behavior?: Stripe.SubscriptionSchedule.EndBehavior;
  metadata?: Record<string, string> | null;
}

interface CreateParams extends SharedParams {
  customer?: string;
  from_subscription?: string;
  start_date?: number | 'now';
}

interface UpdateParams extends SharedParams {
  proration_behavior?: 'always_invoice' | 'create_prorations' | 'none';
}

interface ScheduleListParams extends ListParams {
  customer?: string;
  scheduled?: boolean;
  canceled_at?: RangeParam;
  completed_at?: RangeParam;
  released_at?: RangeParam;
  created?: RangeParam;
}

export function subscriptionScheduleRoutes(router: Router, ctx: Ctx): void {
  const { store } = ctx;
  const schedule = (id: string) => find(store.subscriptionSchedules, id, 'subscription_schedule');

  function phasesFrom(params: PhaseParam[]): PhaseInput[] {
    return params.map((p, i) => {
      if (p.billing_cycle_anchor === 'phase_start') throw errors.invalidParam(`phases[${i}][billing_cycle_anchor]`, 'The Stripe double supports only billing_cycle_anchor=automatic on phases.');
      if (p.items.length === 0) throw errors.missingParam(`phases[${i}][items]`);
      return {
        items: p.items.map((item, n) => ({
          price: recurringPrice(ctx, item.price, `phases[${i}][items][${n}][price]`),
          quantity: item.quantity ?? 1,
          metadata: mergeMetadata({}, item.metadata),
        })),
        ...(p.start_date !== undefined ? { startDate: p.start_date } : {}),
        ...(p.end_date !== undefined ? { endDate: p.end_date } : {}),
        ...(p.duration ? { duration: { interval: p.duration.interval, interval_count: p.duration.interval_count ?? 1 } } : {}),
        ...(p.proration_behavior ? { prorationBehavior: p.proration_behavior } : {}),
        ...(p.metadata ? { metadata: mergeMetadata({}, p.metadata) } : {}),
      };
    });
  }

  function checkEndBehavior(value: Stripe.SubscriptionSchedule.EndBehavior | undefined): void {
    if (value === 'none' || value === 'renew') throw errors.invalidParam('end_behavior', `The Stripe double supports end_behavior release and cancel (got ${value}).`);
  }

  router.post('/v1/subscription_schedules', (req) => {
    const p = parseParams<CreateParams>({ ...SHARED, customer: str, from_subscription: str, start_date: { t: 'integer', literals: ['now'] }, customer_account: any }, req.input);
    checkEndBehavior(p.end_behavior);
    if (p.from_subscription !== undefined) {
      for (const key of ['customer', 'phases', 'start_date', 'end_behavior'] as const) {
        if (p[key] !== undefined) throw errors.invalidParam(key, `You cannot set \`${key}\` if \`from_subscription\` is set.`);
      }
      const sub = find(store.subscriptions, p.from_subscription, 'subscription', 'from_subscription');
      const sched = mutate(ctx, req, (em) => {
        const made = scheduleFromSubscription(ctx, em, sub);
        if (p.metadata) made.metadata = mergeMetadata({}, p.metadata);
        return made;
      });
      return objectResponse(ctx, sched, p.expand);
    }
    if (p.customer === undefined) throw errors.missingParam('customer');
    const customer = find(store.customers, p.customer, 'customer', 'customer');
    if (!p.phases || p.phases.length === 0) throw errors.missingParam('phases');
    const now = ctx.clock.now();
    if (p.start_date !== undefined && p.start_date !== 'now' && p.start_date > now) {
      throw errors.invalidParam('start_date', 'The Stripe double starts schedules now only (start_date=now); a future start_date is not modelled.');
    }
    const phases = phasesFrom(p.phases);
    const sched = mutate(ctx, req, (em) =>
      scheduleForCustomer(ctx, em, customer, phases, { endBehavior: p.end_behavior ?? 'release', metadata: mergeMetadata({}, p.metadata) }, (items) =>
        createSubscription(ctx, em, { customer, items: items.map((i) => ({ price: i.price, quantity: i.quantity, metadata: i.metadata ?? {} })), firstPayment: 'succeeds' }).subscription,
      ),
    );
    return objectResponse(ctx, sched, p.expand);
  });

  router.get('/v1/subscription_schedules/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, schedule(req.params.id ?? ''), p.expand);
  });

  router.get('/v1/subscription_schedules', (req) => {
    const p = parseParams<ScheduleListParams>(
      { ...PAGINATION, customer: str, scheduled: bool, canceled_at: range, completed_at: range, released_at: range, created: range, customer_account: any },
      req.input,
    );
    const items = store.subscriptionSchedules.newestFirst().filter(
      (s) =>
        (p.customer === undefined || idOf(s.customer) === p.customer) &&
        (p.scheduled === undefined || (s.status === 'not_started') === p.scheduled) &&
        (p.canceled_at === undefined || (s.canceled_at !== null && inRange(s.canceled_at, p.canceled_at))) &&
        (p.completed_at === undefined || (s.completed_at !== null && inRange(s.completed_at, p.completed_at))) &&
        (p.released_at === undefined || (s.released_at !== null && inRange(s.released_at, p.released_at))) &&
        inRange(s.created, p.created),
    );
    return listResponse(ctx, items, p, '/v1/subscription_schedules', 'subscription_schedule');
  });

  router.post('/v1/subscription_schedules/:id', (req) => {
    const p = parseParams<UpdateParams>({ ...SHARED, proration_behavior: PRORATION }, req.input);
    checkEndBehavior(p.end_behavior);
    const sched = schedule(req.params.id ?? '');
    const phases = p.phases ? phasesFrom(p.phases) : undefined;
    mutate(ctx, req, (em) =>
      updateSchedule(ctx, em, sched, {
        ...(phases ? { phases } : {}),
        ...(p.end_behavior ? { endBehavior: p.end_behavior } : {}),
        ...(p.proration_behavior ? { prorationBehavior: p.proration_behavior } : {}),
        ...(p.metadata !== undefined ? { metadata: mergeMetadata(sched.metadata ?? {}, p.metadata) } : {}),
      }),
    );
    return objectResponse(ctx, sched, p.expand);
  });

  router.post('/v1/subscription_schedules/:id/release', (req) => {
    const p = parseParams<ExpandParam>({ preserve_cancel_date: bool }, req.input);
    const sched = schedule(req.params.id ?? '');
    mutate(ctx, req, (em) => releaseSchedule(ctx, em, sched));
    return objectResponse(ctx, sched, p.expand);
  });

  router.post('/v1/subscription_schedules/:id/cancel', (req) => {
    const p = parseParams<ExpandParam>({ invoice_now: bool, prorate: bool }, req.input);
    const sched = schedule(req.params.id ?? '');
    mutate(ctx, req, (em) => cancelSchedule(ctx, em, sched, (sub) => cancelNow(ctx, em, sub)));
    return objectResponse(ctx, sched, p.expand);
  });
}
