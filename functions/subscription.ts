/**
 * /api/stripe/subscription (alias /api/billing/subscription):
 * - GET: the caller's access state, and the plan it gives (features and limits, from the
 *   catalogue), with any pending change, from our database only (no Stripe call on this
 *   path). 200 for every authenticated caller; an account with no subscription has state
 *   `none` (and the catalogue's plan without prices, if it has one).
 * - POST: changes the plan, price or seats, or previews the change (shared/plan-change/).
 */
import type { PlanChange, SubscriptionStatus } from '../client/billing-client.ts';
import { accessFor } from '../shared/access.ts';
import { planOfAccount, planOfProduct } from '../shared/catalogue.ts';
import { defineEndpoint } from '../shared/endpoint.ts';
import { readAccount, userRoute } from '../shared/user-route.ts';

/** Three days, when Stripe sends customer.subscription.trial_will_end. */
const TRIAL_ENDS_SOON_MS = 3 * 86_400_000;

const iso = (t: string | null) => (t === null ? null : new Date(t).toISOString());

export default defineEndpoint('subscription', {
  GET: userRoute({
    read: readAccount,
    async handle({ cfg, principal }, view) {
      const access = accessFor(view.subscriptions, cfg.PAST_DUE_GRACE_DAYS);
      const s = access.subscription;
      const plan = planOfAccount(cfg.catalogue, { hasAccess: access.hasAccess, productId: s?.product_id ?? null });
      const answer: SubscriptionStatus = {
        accountId: principal.accountId,
        accountType: principal.accountKind,
        state: access.state,
        hasAccess: access.hasAccess,
        accessUntil: access.accessUntil,
        subscription: s && {
          id: s.id,
          status: s.status,
          priceId: s.price_id,
          productId: s.product_id,
          plan: planOfProduct(cfg.catalogue, s.product_id)?.name ?? s.price_id,
          currentPeriodStart: iso(s.current_period_start),
          currentPeriodEnd: iso(s.current_period_end),
          quantity: s.quantity ?? 1,
          // A change waiting for its moment (a downgrade at the period's end), until Stripe applies it.
          pendingChange: s.pending_effective_at === null ? null : {
            plan: planOfProduct(cfg.catalogue, s.pending_product_id)?.name ?? s.pending_price_id,
            priceId: s.pending_price_id,
            quantity: s.pending_quantity ?? 1,
            effectiveAt: iso(s.pending_effective_at)!,
          },
          cancelAtPeriodEnd: s.cancel_at_period_end,
          cancelAt: iso(s.cancel_at),
          trialEnd: iso(s.trial_end),
          // Stripe's customer.subscription.trial_will_end moment: time to ask for a card.
          trialEndsSoon: s.status === 'trialing' && s.trial_end !== null && Date.parse(s.trial_end) - Date.now() <= TRIAL_ENDS_SOON_MS,
          pastDueSince: iso(s.past_due_since),
          createdAt: iso(s.stripe_created),
        },
        customerId: view.account?.stripe_customer_id ?? s?.customer_id ?? null,
        // What the account may use now: its subscription's plan while it grants access.
        plan: plan && { key: plan.key, name: plan.name },
        features: plan?.features ?? {},
        limits: plan?.limits ?? {},
      };
      return answer;
    },
  }),
  POST: userRoute({
    read: readAccount,
    async handle(call, view): Promise<PlanChange> {
      // Loaded on the first change only: it brings zod and the Stripe SDK, which GET, the hot path, never needs.
      const { postChange } = await import('../shared/plan-change/post.ts');
      return postChange(call, accessFor(view.subscriptions, call.cfg.PAST_DUE_GRACE_DAYS));
    },
  }),
});
