/**
 * A plan change at Stripe: previewed with Stripe's invoice preview, then applied with exactly
 * the same parameters (the proration moment included), so the invoice equals the preview.
 * - Now (upgrades): the subscription's item changes, prorated by the second and invoiced at
 *   once (`always_invoice`); `pending_if_incomplete` keeps the old plan if that invoice is
 *   not paid (declined, or awaiting the customer's confirmation): a 402 that says so.
 * - At the period's end (downgrades): a subscription schedule whose next phase holds the new
 *   price; a second change replaces that phase, and changing back releases the schedule.
 * A double click is one change: the second waits for the first (lock.ts), then finds nothing
 * left to do. Idempotency keys guard each write against a retry of the same request; each is
 * made of the change and of the state it starts from (Stripe replays a key's first answer for
 * a day, so a key must never repeat for a later change that merely looks the same).
 */
import type { PlanChange, PlanChangeLine, PlanChoice } from '../../client/billing-client.ts';
import { INTERVALS, planOfProduct, type Catalogue, type Interval } from '../catalogue.ts';
import type { Config } from '../config.ts';
import { ApiError } from '../errors.ts';
import { idempotencyKey, stripeClient, type Stripe } from '../stripe.ts';
import { idOf, nextPhaseOf } from '../subscription-snapshot.ts';
import { classify, takesEffect, type ChangeKind, type Terms } from './policy.ts';
import { catalogued, planItem, prorationMoment, seatsFor, type ChangeTarget } from './target.ts';

const iso = (unix: number) => new Date(unix * 1000).toISOString();

const intervalOf = (price: Stripe.Price): Interval => INTERVALS.find((i) => i === price.recurring?.interval) ?? 'month';

function choiceOf(catalogue: Catalogue, price: Stripe.Price, quantity: number): PlanChoice {
  const plan = planOfProduct(catalogue, idOf(price.product));
  const known = plan?.prices.some((p) => p.lookupKey === price.lookup_key);
  return { plan: plan && { key: plan.key, name: plan.name }, priceId: known ? price.lookup_key! : price.id, quantity };
}

function linesOf(invoice: Stripe.Invoice): PlanChangeLine[] {
  return invoice.lines.data.map((l) => ({
    description: l.description ?? '',
    amount: l.amount,
    proration: l.parent?.subscription_item_details?.proration ?? l.parent?.invoice_item_details?.proration ?? false,
    periodStart: iso(l.period.start),
    periodEnd: iso(l.period.end),
  }));
}

export interface ChangeCall {
  cfg: Config;
  accountId: string;
  target: ChangeTarget;
  preview: boolean;
}

export async function changePlan({ cfg, accountId, target, preview }: ChangeCall): Promise<PlanChange> {
  const stripe = stripeClient(cfg);
  const [sub, resolved] = await Promise.all([
    stripe.subscriptions.retrieve(target.subscription.id, { expand: ['schedule.phases.items.price'] }),
    target.resolvePrice(stripe),
  ]);
  const to = catalogued(resolved);
  const item = planItem(sub);
  const period = { start: item.current_period_start, end: item.current_period_end };
  const fromQuantity = item.quantity ?? 1;
  const quantity = seatsFor(to.plan, target.quantity, { productId: idOf(item.price.product), quantity: fromQuantity });
  const prorationDate = prorationMoment(target.prorationDate, period);
  const rank = (productId: string | null) => cfg.catalogue.plans.findIndex((p) => p.product === productId);
  const fromTerms: Terms = {
    priceId: item.price.id,
    unitAmount: item.price.unit_amount ?? 0,
    interval: intervalOf(item.price),
    intervalCount: item.price.recurring?.interval_count ?? 1,
    quantity: fromQuantity,
    rank: rank(idOf(item.price.product)),
  };
  const toTerms: Terms = { priceId: to.id, unitAmount: to.price.unitAmount, interval: to.price.interval, intervalCount: to.price.intervalCount, quantity, rank: rank(to.plan.product) };
  const kind: ChangeKind = classify(cfg.catalogue.changes, fromTerms, toTerms);
  const when = takesEffect(cfg.catalogue.changes, kind);
  const pending = nextPhaseOf(sub);

  const answer = (status: PlanChange['status'], extra: Partial<PlanChange> = {}): PlanChange => ({
    status,
    kind,
    from: choiceOf(cfg.catalogue, item.price, fromQuantity),
    to: { plan: { key: to.plan.key, name: to.plan.name }, priceId: to.price.lookupKey, quantity },
    effectiveAt: iso(when === 'now' || kind === 'none' ? prorationDate : period.end),
    currency: to.price.currency,
    amountDueNow: 0,
    lines: [],
    nextInvoice: null,
    prorationDate,
    ...extra,
  });
  const items = (price: string, q: number) => [{ id: item.id, price, quantity: q }];
  // A phase lists every item the subscription keeps (a metered one too, which takes no quantity): what it leaves out, Stripe removes.
  const phaseItems = (price: string, q: number): Stripe.SubscriptionScheduleUpdateParams.Phase.Item[] =>
    sub.items.data.map((i) => (i.id === item.id ? { price, quantity: q } : i.price.recurring?.usage_type === 'metered' ? { price: i.price.id } : { price: i.price.id, quantity: i.quantity ?? 1 }));
  // The renewal invoice with the new price: what the customer pays next, after the change.
  const nextInvoice = async (price: string, q: number) => {
    const next = await stripe.invoices.createPreview({
      customer: idOf(sub.customer)!,
      subscription: sub.id,
      subscription_details: { items: items(price, q), proration_behavior: 'none' },
    });
    return { amount: next.amount_due, date: iso(next.next_payment_attempt ?? next.period_end) };
  };
  const key = (operation: string, ...parts: Array<string | number | null>) => idempotencyKey(operation, accountId, sub.id, ...parts.map(String));

  if (kind === 'none') {
    // Back to the plan in force: the scheduled change, if any, is dropped.
    if (!pending) return answer(preview ? 'preview' : 'unchanged');
    if (preview) return answer('preview', { nextInvoice: await nextInvoice(to.id, quantity) });
    await stripe.subscriptionSchedules.release(pending.schedule.id, {}, { idempotencyKey: key('release', pending.schedule.id) });
    return answer('pending_canceled');
  }

  if (when === 'period_end') {
    if (preview) return answer('preview', { nextInvoice: await nextInvoice(to.id, quantity) });
    if (pending && idOf(pending.price) === to.id && pending.quantity === quantity) return answer('scheduled');
    // A second downgrade replaces the pending one: the same schedule, its next phase rewritten.
    const schedule = (typeof sub.schedule === 'object' && sub.schedule?.status === 'active' ? sub.schedule : null)
      // No key of ours: a schedule made again after one was released must be a new one
      // (stripe-node puts its own key on the request and its retries).
      ?? (await stripe.subscriptionSchedules.create({ from_subscription: sub.id }));
    const phases: Stripe.SubscriptionScheduleUpdateParams = {
      end_behavior: 'release',
      proration_behavior: 'none',
      phases: [
        { items: phaseItems(item.price.id, fromQuantity), start_date: schedule.current_phase?.start_date ?? period.start, end_date: period.end },
        { items: phaseItems(to.id, quantity), duration: { interval: to.price.interval, interval_count: to.price.intervalCount } },
      ],
    };
    const before = JSON.stringify(schedule.phases.map((p) => p.items.map((i) => [idOf(i.price), i.quantity])));
    await stripe.subscriptionSchedules.update(schedule.id, phases, { idempotencyKey: key('downgrade', schedule.id, before, JSON.stringify(phases)) });
    return answer('scheduled');
  }

  const change = { items: items(to.id, quantity), proration_behavior: 'always_invoice' as const, proration_date: prorationDate };
  if (preview) {
    const [now, next] = await Promise.all([
      stripe.invoices.createPreview({ customer: idOf(sub.customer)!, subscription: sub.id, subscription_details: change }),
      nextInvoice(to.id, quantity),
    ]);
    return answer('preview', { amountDueNow: now.amount_due, lines: linesOf(now), nextInvoice: next });
  }
  // A pending downgrade gives way to a change now (else its phase would undo this one).
  if (pending) await stripe.subscriptionSchedules.release(pending.schedule.id, {}, { idempotencyKey: key('release', pending.schedule.id) });
  const updated = await stripe.subscriptions.update(
    sub.id,
    { ...change, payment_behavior: 'pending_if_incomplete', expand: ['latest_invoice'] },
    // From this item and invoice: every applied change makes a new invoice, so a later change that looks the same has another key.
    { idempotencyKey: key('change', JSON.stringify(change), item.price.id, fromQuantity, idOf(sub.latest_invoice)) },
  );
  const invoice = typeof updated.latest_invoice === 'object' ? updated.latest_invoice : null;
  if (updated.pending_update) {
    throw new ApiError('PAYMENT_FAILED', 'The payment for this change did not go through, so the plan is unchanged: pay or confirm it on the invoice page, or use another card', {
      details: { invoiceUrl: invoice?.hosted_invoice_url ?? null, amountDue: invoice?.amount_due ?? null },
    });
  }
  return answer('applied', invoice ? { amountDueNow: invoice.amount_due, lines: linesOf(invoice) } : {});
}
