import type { Config } from '@netlify/functions';
export { default } from '../../functions/checkout.ts';
export const config: Config = { path: ['/api/stripe/checkout', '/api/billing/checkout'] };
