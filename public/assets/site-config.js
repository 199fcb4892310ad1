/**
 * What the demo site says. Plans, prices, features and limits come from the API (GET plans,
 * from catalogue.ts): this file only words them for customers. Keys missing here are shown
 * as they are.
 */
export const site = {
  name: 'Acme Analytics',
  tagline: 'Privacy-focused web analytics. No cookies, no personal data.',
  /** Where the billing functions answer (envelope dialect). */
  apiBase: '/api/billing',
  /** The plan shown as the one to pick. */
  featured: 'pro',
  /** Boolean features, in customer words. */
  features: {
    realtime_dashboard: 'Real-time dashboard',
    email_support: 'Email support',
    custom_events: 'Custom events and segments',
    api_access: 'Shared dashboards and API access',
  },
  /** What one unit of each limited feature is called (plural). */
  units: { events: 'events', exports: 'CSV exports' },
};
