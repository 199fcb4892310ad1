/**
 * POST /api/stripe/portal (alias /api/billing/portal): a Stripe billing portal session
 * for the caller's own customer. The customer id only ever comes from our database for
 * the caller's account, never from the request. With `flow`, the session is a deep link
 * into one task on the caller's current subscription (shared/portal-flow.ts).
 */
import type { PortalParams } from '../client/billing-client.ts';
import { accessFor } from '../shared/access.ts';
import { requireBillingManager } from '../shared/auth.ts';
import { readJson } from '../shared/body.ts';
import { defineEndpoint } from '../shared/endpoint.ts';
import { badRequest } from '../shared/errors.ts';
import { noSubscription, PRICE_ID, SEATS } from '../shared/plan-change/target.ts';
import { flowConfiguration, flowData, PORTAL_FLOWS, portalFlow } from '../shared/portal-flow.ts';
import { safeRedirect } from '../shared/redirects.ts';
import { apiPath } from '../shared/responses.ts';
import { stripeClient } from '../shared/stripe.ts';
import { readAccount, userRoute } from '../shared/user-route.ts';
import * as z from '../shared/zod.ts';

const Body = z.strictObject({
  returnUrl: z.optional(z.string().check(z.maxLength(2048))),
  flow: z.optional(z.enum(PORTAL_FLOWS)),
  priceId: PRICE_ID,
  quantity: SEATS,
}) satisfies z.ZodMiniType<PortalParams>;

export default defineEndpoint('portal', {
  POST: userRoute({
    read: readAccount,
    async handle({ req, cfg, dialect, principal: p }, view) {
      requireBillingManager(p, cfg);
      const body = await readJson(req, Body);
      const returnUrl = safeRedirect(body.returnUrl, cfg.URL, cfg.DASHBOARD_PATH, 'returnUrl');
      const checkoutPath = apiPath(dialect, 'checkout');
      const flow = portalFlow(cfg, accessFor(view.subscriptions, cfg.PAST_DUE_GRACE_DAYS), body, checkoutPath);
      const customer = view.account?.stripe_customer_id;
      if (!customer || view.subscriptions.length === 0) throw flow ? noSubscription(checkoutPath) : badRequest('No active subscription');
      const stripe = stripeClient(cfg);
      const [flow_data, configuration] = flow ? await Promise.all([flowData(stripe, flow, returnUrl), flowConfiguration(stripe, cfg)]) : [];
      const session = await stripe.billingPortal.sessions.create({
        customer,
        return_url: returnUrl,
        ...(flow_data ? { flow_data } : {}),
        ...(configuration ? { configuration } : {}),
      });
      return { url: session.url };
    },
  }),
});
