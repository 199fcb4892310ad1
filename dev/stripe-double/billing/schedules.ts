/**
 * Subscription schedules: made from a subscription (one phase: its items until the period's
 * end) or for a customer (the subscription starts now with the first phase), phases rewritten
 * by update, released (the subscription carries on alone) or canceled (with the subscription).
 * Phases change at period boundaries: renewPeriod applies the phase starting at the period's
 * end before the renewal invoice, as Stripe does; after the last phase the schedule completes
 * (end_behavior release: the subscription carries on; cancel: it ends).
 */
import type Stripe from 'stripe';
import { addInterval, intervalOf, sameInterval, type Interval } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { errors } from '../errors.ts';
import type { Emission } from '../events.ts';
import { snapshot } from '../fixtures.ts';
import { buildPhase, buildSchedule, type PhaseItemFields } from '../objects/schedule.ts';
import { buildSubscriptionItem, currentPeriod, isMetered, setItems } from '../objects/subscription.ts';
import { find, idOf } from '../store.ts';
import { updateItems } from './plan-change.ts';
import { itemsInterval, type ItemRequest, type ProrationBehavior } from './proration.ts';

/** A phase as asked (create or update), prices resolved. */
export interface PhaseInput {
  items: PhaseItemFields[];
  startDate?: number | 'now';
  endDate?: number | 'now';
  duration?: Interval;
  prorationBehavior?: ProrationBehavior;
  metadata?: Record<string, string>;
}

export interface ScheduleUpdate {
  phases?: PhaseInput[];
  endBehavior?: Stripe.SubscriptionSchedule.EndBehavior;
  prorationBehavior?: ProrationBehavior;
  metadata?: Record<string, string>;
}

function scheduleOf(ctx: Ctx, sub: Stripe.Subscription): Stripe.SubscriptionSchedule | undefined {
  const sched = sub.schedule ? ctx.store.subscriptionSchedules.get(idOf(sub.schedule)) : undefined;
  return sched && sched.status === 'active' ? sched : undefined;
}

function subscriptionOf(ctx: Ctx, sched: Stripe.SubscriptionSchedule): Stripe.Subscription | undefined {
  return sched.subscription ? ctx.store.subscriptions.get(idOf(sched.subscription)) : undefined;
}

/** Phases with their dates: each starts where the one before ends; an open end lasts `duration` or one interval of its price (`iterations` went in the pinned version). */
function resolvePhases(inputs: readonly PhaseInput[], firstStart: number, now: number, currency: string, defaultProration: ProrationBehavior): Stripe.SubscriptionSchedule.Phase[] {
  let start = firstStart;
  return inputs.map((p, i) => {
    if (p.items.length === 0) throw errors.missingParam(`phases[${i}][items]`);
    const asked = p.startDate === 'now' ? now : p.startDate;
    if (i > 0 && asked !== undefined && asked !== start) {
      throw errors.invalidParam(`phases[${i}][start_date]`, `The start_date of phase ${i} must be the end_date of the phase before it (${start}).`);
    }
    const every = intervalOf(p.items[0]?.price.recurring);
    const end =
      p.endDate === 'now' ? now
      : p.endDate !== undefined ? p.endDate
      : p.duration ? addInterval(start, p.duration)
      : addInterval(start, every);
    if (end <= start) throw errors.invalidParam(`phases[${i}][end_date]`, `The end_date of phase ${i} must be after its start_date.`);
    const phase = buildPhase({ start, end, items: p.items, currency, prorationBehavior: p.prorationBehavior ?? defaultProration, ...(p.metadata ? { metadata: p.metadata } : {}) });
    start = end;
    return phase;
  });
}

/** The phase in force at `t`. */
function phaseAt(sched: Stripe.SubscriptionSchedule, t: number): Stripe.SubscriptionSchedule.Phase | undefined {
  return sched.phases.find((p) => p.start_date <= t && t < p.end_date);
}

function setCurrentPhase(sched: Stripe.SubscriptionSchedule, t: number): void {
  const phase = phaseAt(sched, t);
  sched.current_phase = phase ? { start_date: phase.start_date, end_date: phase.end_date } : null;
}

function phaseItems(ctx: Ctx, phase: Stripe.SubscriptionSchedule.Phase): PhaseItemFields[] {
  return phase.items.map((i, n) => ({
    price: find(ctx.store.prices, idOf(i.price), 'price', `phases[${n}][items][price]`),
    quantity: i.quantity ?? 1,
    metadata: i.metadata ?? {},
  }));
}

/**
 * The item changes that make `sub` hold `items`: an item whose price the phase keeps stays (its
 * quantity updated), the others are deleted, new prices added. Stripe matches phase items to
 * subscription items by price in the same way.
 */
function requestsFor(sub: Stripe.Subscription, items: readonly PhaseItemFields[]): ItemRequest[] {
  const requests: ItemRequest[] = [];
  const kept = new Set<string>();
  for (const item of items) {
    const existing = sub.items.data.find((i) => i.price.id === item.price.id && !kept.has(i.id));
    if (existing) {
      kept.add(existing.id);
      if (!isMetered(item.price) && (existing.quantity ?? 1) !== item.quantity) requests.push({ existing, quantity: item.quantity });
    } else {
      requests.push({ price: item.price, quantity: item.quantity, metadata: item.metadata ?? {} });
    }
  }
  for (const existing of sub.items.data) if (!kept.has(existing.id)) requests.push({ existing, deleted: true });
  return requests;
}

/** What `sub` looks like once the phase starting at `at` (a period end) applies, or undefined when none starts then. Pure (previews use it). */
export function subscriptionAtPhaseChange(ctx: Ctx, sub: Stripe.Subscription, at: number): Stripe.Subscription | undefined {
  const sched = scheduleOf(ctx, sub);
  const phase = sched?.phases.find((p) => p.start_date === at);
  if (!sched || !phase) return undefined;
  const future = snapshot(sub);
  applyPhaseItems(future, phaseItems(ctx, phase), at);
  return future;
}

/** Puts a phase's items on `sub` at `at`; a new interval moves the billing cycle anchor there. */
function applyPhaseItems(sub: Stripe.Subscription, items: readonly PhaseItemFields[], at: number): void {
  const period = currentPeriod(sub);
  const next = items.map((item) => {
    const same = sub.items.data.find((i) => i.price.id === item.price.id);
    const built = buildSubscriptionItem(sub.id, same?.created ?? at, { price: item.price, quantity: item.quantity, metadata: item.metadata ?? {}, periodStart: period.start, periodEnd: period.end });
    if (same) built.id = same.id;
    return built;
  });
  const restart = !sameInterval(itemsInterval(sub.items.data), itemsInterval(next));
  setItems(sub, next, restart ? { start: at, end: at } : null);
}

/** When the schedule ends the subscription (end_behavior=cancel), the subscription shows it in cancel_at. */
function syncCancelAt(sub: Stripe.Subscription, sched: Stripe.SubscriptionSchedule): void {
  const last = sched.phases[sched.phases.length - 1];
  if (sched.end_behavior === 'cancel' && last) {
    sub.cancel_at = last.end_date;
    sub.cancel_at_period_end = last.end_date === currentPeriod(sub).end;
  } else if (sub.cancel_at !== null && sub.cancellation_details?.reason !== 'cancellation_requested') {
    sub.cancel_at = null;
    sub.cancel_at_period_end = false;
  }
}

/** subscription_schedule.created for an existing subscription: one phase, its items until the period's end. */
export function scheduleFromSubscription(ctx: Ctx, em: Emission, sub: Stripe.Subscription): Stripe.SubscriptionSchedule {
  if (sub.status === 'canceled' || sub.status === 'incomplete_expired') throw errors.badRequest('You cannot migrate a canceled subscription to a subscription schedule.', 'from_subscription');
  if (sub.schedule) throw errors.badRequest(`You cannot migrate a subscription that is already attached to a schedule: \`${idOf(sub.schedule)}\`.`, 'from_subscription');
  const now = ctx.clock.now();
  const period = currentPeriod(sub);
  const phase = buildPhase({
    start: period.start,
    end: period.end,
    items: sub.items.data.map((i) => ({ price: i.price, quantity: i.quantity ?? 1, metadata: i.metadata })),
    currency: sub.currency,
    prorationBehavior: 'create_prorations',
  });
  const sched = buildSchedule(now, { customer: idOf(sub.customer), subscription: sub.id, phases: [phase], endBehavior: 'release', status: 'active' });
  setCurrentPhase(sched, now);
  ctx.store.subscriptionSchedules.set(sched);
  const before = snapshot(sub);
  sub.schedule = sched.id;
  ctx.bus.emit(em, 'subscription_schedule.created', sched);
  ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
  return sched;
}

/** A schedule that starts now for `customer`: its subscription is created with the first phase (`create` makes it, invoiced). */
export function scheduleForCustomer(
  ctx: Ctx,
  em: Emission,
  customer: Stripe.Customer,
  phases: PhaseInput[],
  opts: { endBehavior: Stripe.SubscriptionSchedule.EndBehavior; metadata: Record<string, string> },
  create: (items: PhaseItemFields[], end: number) => Stripe.Subscription,
): Stripe.SubscriptionSchedule {
  const now = ctx.clock.now();
  const first = phases[0]?.items[0];
  if (!first) throw errors.missingParam('phases[0][items]');
  const resolved = resolvePhases(phases, now, now, first.price.currency, 'create_prorations');
  const sched = buildSchedule(now, { customer: customer.id, subscription: null, phases: resolved, endBehavior: opts.endBehavior, status: 'active', metadata: opts.metadata });
  setCurrentPhase(sched, now);
  ctx.store.subscriptionSchedules.set(sched);
  ctx.bus.emit(em, 'subscription_schedule.created', sched);
  const sub = create(phases[0]?.items ?? [], resolved[0]?.end_date ?? now);
  const before = snapshot(sched);
  sched.subscription = sub.id;
  sub.schedule = sched.id;
  syncCancelAt(sub, sched);
  ctx.bus.emitUpdated(em, 'subscription_schedule.updated', before, sched);
  return sched;
}

/**
 * Rewrites phases, end_behavior, metadata: subscription_schedule.updated. The phase in force
 * keeps its start_date (Stripe refuses to move it); if its items differ from the
 * subscription's, they apply now with `proration_behavior` (customer.subscription.updated).
 */
export function updateSchedule(ctx: Ctx, em: Emission, sched: Stripe.SubscriptionSchedule, update: ScheduleUpdate): void {
  if (sched.status !== 'active' && sched.status !== 'not_started') {
    throw errors.badRequest(`You cannot update a subscription schedule that is currently in the \`${sched.status}\` status. It must be in \`not_started\` or \`active\`.`);
  }
  const now = ctx.clock.now();
  const sub = subscriptionOf(ctx, sched);
  const before = snapshot(sched);
  const subBefore = sub && snapshot(sub);
  const proration = update.prorationBehavior ?? 'create_prorations';
  if (update.phases) {
    const current = sched.current_phase;
    const firstStart = update.phases[0]?.startDate;
    const start = firstStart === 'now' ? now : (firstStart ?? current?.start_date ?? now);
    if (current && start !== current.start_date) {
      throw errors.invalidParam('phases[0][start_date]', 'You can not modify the start date of the current phase.');
    }
    sched.phases = resolvePhases(update.phases, start, now, sched.phases[0]?.currency ?? 'usd', proration);
    setCurrentPhase(sched, now);
  }
  if (update.endBehavior) sched.end_behavior = update.endBehavior;
  if (update.metadata) sched.metadata = update.metadata;
  if (sub) {
    const phase = phaseAt(sched, now);
    const requests = phase ? requestsFor(sub, phaseItems(ctx, phase)) : [];
    if (requests.length > 0) updateItems(ctx, em, sub, { requests, behavior: proration, prorationDate: now, paymentBehavior: 'allow_incomplete' });
    syncCancelAt(sub, sched);
  }
  ctx.bus.emitUpdated(em, 'subscription_schedule.updated', before, sched);
  if (sub && subBefore) ctx.bus.emitUpdated(em, 'customer.subscription.updated', subBefore, sub);
}

function detach(ctx: Ctx, em: Emission, sub: Stripe.Subscription | undefined, change: (sub: Stripe.Subscription) => void): void {
  if (!sub) return;
  const before = snapshot(sub);
  sub.schedule = null;
  change(sub);
  ctx.bus.emitUpdated(em, 'customer.subscription.updated', before, sub);
}

function requireLiveSchedule(sched: Stripe.SubscriptionSchedule, verb: string): void {
  if (sched.status !== 'active' && sched.status !== 'not_started') {
    throw errors.badRequest(`You cannot ${verb} a subscription schedule that is currently in the \`${sched.status}\` status. It must be in \`not_started\` or \`active\`.`);
  }
}

/** The subscription carries on without the schedule: subscription_schedule.released, customer.subscription.updated. */
export function releaseSchedule(ctx: Ctx, em: Emission, sched: Stripe.SubscriptionSchedule): void {
  requireLiveSchedule(sched, 'release');
  const sub = subscriptionOf(ctx, sched);
  sched.status = 'released';
  sched.released_at = ctx.clock.now();
  sched.released_subscription = sub?.id ?? null;
  sched.subscription = null;
  sched.current_phase = null;
  ctx.bus.emit(em, 'subscription_schedule.released', sched);
  detach(ctx, em, sub, (s) => {
    if (sched.end_behavior === 'cancel') syncCancelAt(s, { ...sched, end_behavior: 'release' });
  });
}

/** Cancels the schedule and its subscription now: subscription_schedule.canceled, customer.subscription.deleted. */
export function cancelSchedule(ctx: Ctx, em: Emission, sched: Stripe.SubscriptionSchedule, cancelSubscription: (sub: Stripe.Subscription) => void): void {
  requireLiveSchedule(sched, 'cancel');
  const sub = subscriptionOf(ctx, sched);
  markCanceled(ctx, sched);
  ctx.bus.emit(em, 'subscription_schedule.canceled', sched);
  if (sub && sub.status !== 'canceled') cancelSubscription(sub);
}

function markCanceled(ctx: Ctx, sched: Stripe.SubscriptionSchedule): void {
  sched.status = 'canceled';
  sched.canceled_at = ctx.clock.now();
  sched.current_phase = null;
}

/** The subscription ended another way (canceled now): its schedule is canceled with it (subscription_schedule.canceled). */
export function onSubscriptionEnded(ctx: Ctx, em: Emission, sub: Stripe.Subscription, completed: boolean): void {
  const sched = scheduleOf(ctx, sub);
  if (!sched) return;
  if (completed) {
    sched.status = 'completed';
    sched.completed_at = ctx.clock.now();
    sched.current_phase = null;
    ctx.bus.emit(em, 'subscription_schedule.completed', sched);
  } else {
    markCanceled(ctx, sched);
    ctx.bus.emit(em, 'subscription_schedule.canceled', sched);
  }
}

/**
 * Time reaches `at`, the end of the subscription's period (renewPeriod, before the renewal
 * invoice): the phase starting then applies its items (customer.subscription.updated,
 * subscription_schedule.updated); after the last phase, with end_behavior=release, the schedule
 * completes and lets the subscription go (subscription_schedule.completed).
 */
export function advanceSchedule(ctx: Ctx, em: Emission, sub: Stripe.Subscription, at: number): void {
  const sched = scheduleOf(ctx, sub);
  if (!sched) return;
  const before = snapshot(sched);
  const subBefore = snapshot(sub);
  const next = sched.phases.find((p) => p.start_date === at);
  if (next) {
    applyPhaseItems(sub, phaseItems(ctx, next), at);
    setCurrentPhase(sched, at);
    ctx.bus.emitUpdated(em, 'customer.subscription.updated', subBefore, sub);
    ctx.bus.emitUpdated(em, 'subscription_schedule.updated', before, sched);
    return;
  }
  const last = sched.phases[sched.phases.length - 1];
  if (last && last.end_date <= at) {
    sched.status = 'completed';
    sched.completed_at = at;
    sched.current_phase = null;
    if (sched.end_behavior === 'release') sched.released_subscription = sub.id;
    ctx.bus.emit(em, 'subscription_schedule.completed', sched);
    detach(ctx, em, sub, () => undefined);
  }
}
