import type { Config } from '@netlify/functions';
export { default } from '../../functions/plans.ts';
export const config: Config = { path: ['/api/stripe/plans', '/api/billing/plans'] };
