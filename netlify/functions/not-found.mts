import type { Config } from '@netlify/functions';
export { default } from '../../functions/not-found.ts';
// Netlify reads this object statically, so the endpoints' own paths are listed literally;
// excluding them makes sure an endpoint is never shadowed by this catch-all, whatever order
// Netlify matches paths in (tests/not-found-routes.test.ts checks the list is complete).
export const config: Config = {
  path: ['/api/stripe/*', '/api/billing/*'],
  excludedPath: [
    '/api/stripe/checkout', '/api/billing/checkout',
    '/api/stripe/plans', '/api/billing/plans',
    '/api/stripe/portal', '/api/billing/portal',
    '/api/stripe/subscription', '/api/billing/subscription',
    '/api/stripe/usage', '/api/billing/usage',
    '/api/stripe/webhook', '/api/billing/webhook',
  ],
};
