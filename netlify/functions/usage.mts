import type { Config } from '@netlify/functions';
export { default } from '../../functions/usage.ts';
export const config: Config = { path: ['/api/stripe/usage', '/api/billing/usage'] };
