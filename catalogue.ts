/**
 * What this app sells: its plans, their prices, features and limits. The API, the demo's
 * pricing page and Stripe (`npm run plans -- push`) all take it from here; the format is in
 * shared/catalogue.ts and the README. `plans: []` sells STRIPE_PRICE_ID alone, as before.
 */
import { defineCatalogue } from './shared/catalogue.ts';

export default defineCatalogue({
  // Usage records that name no feature count as `events`, the one reported to Stripe's meter.
  meteredFeature: 'events',
  plans: [
    {
      key: 'basic',
      name: 'Basic',
      description: 'For a personal site or a side project.',
      prices: [{ lookupKey: 'basic_monthly', interval: 'month', currency: 'usd', unitAmount: 900 }],
      features: { realtime_dashboard: true, email_support: true, custom_events: false, api_access: false },
      limits: {
        events: { limit: 10_000, hard: false },
        exports: { limit: 10, hard: true },
      },
    },
    {
      key: 'pro',
      name: 'Pro',
      description: 'For teams and businesses with several sites.',
      prices: [{ lookupKey: 'pro_monthly', interval: 'month', currency: 'usd', unitAmount: 2900 }],
      features: { realtime_dashboard: true, email_support: true, custom_events: true, api_access: true },
      limits: {
        events: { limit: 100_000, hard: false },
        exports: { limit: 500, hard: true },
      },
    },
  ],
});
