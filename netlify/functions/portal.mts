import type { Config } from '@netlify/functions';
export { default } from '../../functions/portal.ts';
export const config: Config = { path: ['/api/stripe/portal', '/api/billing/portal'] };
