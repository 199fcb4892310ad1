/**
 * POST /api/stripe/portal (alias /api/billing/portal): a Stripe billing portal session
 * for the caller's own customer. The customer id only ever comes from our database for
 * the caller's account, never from the request.
 */
import { requireBillingManager } from '../shared/auth.ts';
import { readJson } from '../shared/body.ts';
import { defineEndpoint } from '../shared/endpoint.ts';
import { badRequest } from '../shared/errors.ts';
import { safeRedirect } from '../shared/redirects.ts';
import { stripeClient } from '../shared/stripe.ts';
import { readAccount, userRoute } from '../shared/user-route.ts';
import * as z from '../shared/zod.ts';

const Body = z.strictObject({ returnUrl: z.optional(z.string().check(z.maxLength(2048))) });

export default defineEndpoint('portal', {
  POST: userRoute({
    read: readAccount,
    async handle({ req, cfg, principal: p }, view) {
      requireBillingManager(p, cfg);
      const body = await readJson(req, Body);
      const returnUrl = safeRedirect(body.returnUrl, cfg.URL, cfg.DASHBOARD_PATH, 'returnUrl');
      const customer = view.account?.stripe_customer_id;
      if (!customer || view.subscriptions.length === 0) throw badRequest('No active subscription');
      const session = await stripeClient(cfg).billingPortal.sessions.create({ customer, return_url: returnUrl });
      return { url: session.url };
    },
  }),
});
