import type { Config } from '@netlify/functions';
export { default } from '../../functions/webhook.ts';
export const config: Config = { path: ['/api/stripe/webhook', '/api/billing/webhook'] };
