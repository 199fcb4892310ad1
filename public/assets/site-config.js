/**
 * What the demo site says. Edit the plans to match your Stripe prices: the ids here must be
 * ones the server accepts (STRIPE_PRICE_ID or STRIPE_PRICE_IDS); the amounts are only text,
 * Stripe's Checkout page shows what is actually charged. The defaults match the local
 * Stripe double that `npm run dev` starts.
 */
export const site = {
  name: 'Acme Analytics',
  tagline: 'Privacy-focused web analytics. No cookies, no personal data.',
  /** Where the billing functions answer (envelope dialect). */
  apiBase: '/api/billing',
  /** What one unit of metered usage is called. */
  usageUnit: 'events',
  plans: [
    {
      priceId: 'price_basic_monthly',
      name: 'Basic',
      price: '$9',
      per: 'month',
      features: ['10,000 tracked events a month', '3 sites', 'Real-time dashboard', 'Email support'],
    },
    {
      priceId: 'price_pro_monthly',
      name: 'Pro',
      price: '$29',
      per: 'month',
      featured: true,
      features: ['100,000 tracked events a month', 'Unlimited sites', 'Custom events and segments', 'Shared dashboards and API access'],
    },
  ],
};
