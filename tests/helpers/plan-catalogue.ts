/** A catalogue with upgrades, downgrades and a per-seat plan, for the plan-change tests. */
import type { CatalogueInput } from '../../shared/catalogue.ts';
import type { StripeSide } from './stripe.ts';

export const CHANGE_CATALOGUE: CatalogueInput = {
  plans: [
    { key: 'free', name: 'Free', prices: [] },
    { key: 'basic', name: 'Basic', prices: [{ lookupKey: 'basic_monthly', interval: 'month', currency: 'usd', unitAmount: 900 }] },
    { key: 'pro', name: 'Pro', prices: [{ lookupKey: 'pro_monthly', interval: 'month', currency: 'usd', unitAmount: 2900 }] },
    {
      key: 'team',
      name: 'Team',
      prices: [{ lookupKey: 'team_seat_monthly', interval: 'month', currency: 'usd', unitAmount: 1250 }],
      seats: { min: 2, max: 50 },
    },
  ],
};

/** The team plan is not among the double's seeded prices. */
export async function createTeamPlan(s: StripeSide): Promise<void> {
  await s.stripe.products.create({ id: 'team', name: 'Team' });
  await s.stripe.prices.create({ product: 'team', unit_amount: 1250, currency: 'usd', recurring: { interval: 'month' }, lookup_key: 'team_seat_monthly' });
}
