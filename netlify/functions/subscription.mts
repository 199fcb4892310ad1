import type { Config } from '@netlify/functions';
export { default } from '../../functions/subscription.ts';
export const config: Config = { path: ['/api/stripe/subscription', '/api/billing/subscription'] };
