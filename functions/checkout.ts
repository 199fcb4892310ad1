/**
 * POST /api/stripe/checkout (alias /api/billing/checkout): a Stripe Checkout Session in
 * subscription mode for the caller's billing account; answers its URL.
 */
import { accessFor } from '../shared/access.ts';
import { requireBillingManager } from '../shared/auth.ts';
import { readJson } from '../shared/body.ts';
import { checkoutPrice, type CheckoutPrice } from '../shared/checkout-price.ts';
import { ensureCustomer } from '../shared/customer.ts';
import { defineEndpoint } from '../shared/endpoint.ts';
import { ApiError } from '../shared/errors.ts';
import { PRICE_ID, SEATS, seatsFor } from '../shared/plan-change/target.ts';
import { safeRedirect } from '../shared/redirects.ts';
import { apiPath } from '../shared/responses.ts';
import { getStore } from '../shared/store/index.ts';
import { idempotencyKey, stripeClient, type Stripe } from '../shared/stripe.ts';
import { readAccount, userRoute } from '../shared/user-route.ts';
import * as z from '../shared/zod.ts';

const Body = z.strictObject({
  priceId: PRICE_ID,
  /** Seats, for a per-seat plan (default its minimum). */
  quantity: SEATS,
  successUrl: z.optional(z.string().check(z.maxLength(2048))),
  cancelUrl: z.optional(z.string().check(z.maxLength(2048))),
});

/** Double clicks inside this window get the same session (Stripe idempotency replay). */
export const DOUBLE_CLICK_WINDOW_MS = 30_000;

export default defineEndpoint('checkout', {
  POST: userRoute({
    read: readAccount,
    async handle({ req, cfg, principal: p, dialect }, view) {
      requireBillingManager(p, cfg);
      const body = await readJson(req, Body);
      const resolvePrice = checkoutPrice(cfg, body.priceId);
      // The seeds' frontends read ?success=true and ?canceled=true on their return.
      const successUrl = safeRedirect(body.successUrl, cfg.URL, cfg.CHECKOUT_SUCCESS_PATH ?? `${cfg.DASHBOARD_PATH}?success=true`, 'successUrl');
      const cancelUrl = safeRedirect(body.cancelUrl, cfg.URL, cfg.CHECKOUT_CANCEL_PATH ?? `${cfg.DASHBOARD_PATH}?canceled=true`, 'cancelUrl');

      if (accessFor(view.subscriptions, cfg.PAST_DUE_GRACE_DAYS).hasAccess) {
        // Not a dead end: a subscriber changes plan or seats with POST subscription.
        const change = apiPath(dialect, 'subscription');
        throw new ApiError('ALREADY_SUBSCRIBED', `Already subscribed: change the plan or seats with POST ${change}`, { details: { change } });
      }
      const stripe = stripeClient(cfg);
      // Both may call Stripe on a cold instance: at once, so they cost one round trip.
      const [price, customer] = await Promise.all([
        resolvePrice(stripe),
        ensureCustomer(cfg, getStore(cfg), p, view.account?.stripe_customer_id ?? null),
      ]);

      // Metadata on the session and on the subscription, so every later event maps back.
      // One trial per account ever: none for an account that had one (shared/trials.ts enforces it).
      const hadTrial = view.subscriptions.some((s) => s.trial_start !== null);
      const trialOf = (x: CheckoutPrice): Pick<Stripe.Checkout.SessionCreateParams.SubscriptionData, 'trial_period_days' | 'trial_settings'> => {
        const days = x.plan ? (x.plan.trial?.days ?? 0) : cfg.STRIPE_TRIAL_DAYS;
        if (hadTrial || days <= 0) return {};
        return x.plan?.trial?.card === 'if_required'
          ? { trial_period_days: days, trial_settings: { end_behavior: { missing_payment_method: 'cancel' } } }
          : { trial_period_days: days };
      };
      const trial = trialOf(price);
      const metadata = { account_id: p.accountId, user_id: p.userId, ...(p.email ? { email: p.email } : {}) };
      const params: Stripe.Checkout.SessionCreateParams = {
        mode: 'subscription',
        customer,
        client_reference_id: p.accountId,
        line_items: [{ price: price.id, quantity: price.plan ? seatsFor(price.plan, body.quantity ?? null, { productId: null, quantity: 1 }) : 1 }],
        allowed_payment_method_types: ['card'],
        success_url: successUrl,
        cancel_url: cancelUrl,
        metadata,
        subscription_data: { metadata, ...trial },
        // A trial without a card: Checkout asks for none, and the trial ends canceled unless one is added.
        ...(trial.trial_settings ? { payment_method_collection: 'if_required' as const } : {}),
        ...(cfg.STRIPE_ALLOW_PROMOTION_CODES ? { allow_promotion_codes: true } : {}),
        ...(cfg.STRIPE_AUTOMATIC_TAX ? { automatic_tax: { enabled: true }, customer_update: { address: 'auto' } } : {}),
      };
      // Same account, same parameters, same window: the same key, so Stripe replays the session.
      const window = String(Math.floor(Date.now() / DOUBLE_CLICK_WINDOW_MS));
      const session = await stripe.checkout.sessions.create(params, {
        idempotencyKey: idempotencyKey('checkout', p.accountId, window, JSON.stringify(params)),
      });
      if (!session.url) throw new Error('Checkout session has no URL');
      return { url: session.url, sessionId: session.id };
    },
  }),
});
