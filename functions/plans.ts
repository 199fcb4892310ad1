/**
 * GET /api/stripe/plans (alias /api/billing/plans): the plan catalogue for a pricing page.
 * Public (no token, no rate limit: it reads nothing but the deployed code) and cacheable:
 * Cache-Control with a max-age, an ETag, 304 to a matching If-None-Match.
 */
import { defineEndpoint } from '../shared/endpoint.ts';
import { plansResponse } from '../shared/plans-view.ts';

export default defineEndpoint('plans', {
  GET: { auth: 'none', cacheSeconds: 300, handle: async ({ cfg }) => plansResponse(cfg.catalogue) },
});
