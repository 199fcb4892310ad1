import { describe, expect, it } from 'vitest';
import { accessFor } from '../shared/access.ts';
import type { SubscriptionRow } from '../shared/store/types.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-21T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function sub(over: Partial<SubscriptionRow>): SubscriptionRow {
  return {
    id: 'sub_1', customer_id: 'cus_1', account_id: 'user:u', status: 'active', price_id: 'price_a', product_id: 'prod_a',
    quantity: 1, current_period_start: iso(NOW - 10 * DAY), current_period_end: iso(NOW + 20 * DAY),
    cancel_at_period_end: false, cancel_at: null, canceled_at: null, ended_at: null, trial_start: null, trial_end: null,
    past_due_since: null,
    pending_price_id: null, pending_product_id: null, pending_quantity: null, pending_effective_at: null, stripe_created: iso(NOW - 40 * DAY), snapshot_at: 1, updated_at: iso(NOW), ...over,
  };
}

describe('access state', () => {
  it('none without subscriptions', () => {
    expect(accessFor([], 7, NOW)).toMatchObject({ state: 'none', hasAccess: false, accessUntil: null });
  });
  it('active until the period ends', () => {
    expect(accessFor([sub({})], 7, NOW)).toMatchObject({ state: 'active', hasAccess: true, accessUntil: iso(NOW + 20 * DAY) });
  });
  it('canceling at period end keeps access until then', () => {
    expect(accessFor([sub({ cancel_at_period_end: true })], 7, NOW)).toMatchObject({ state: 'canceling', hasAccess: true, accessUntil: iso(NOW + 20 * DAY) });
  });
  it('trialing until the trial ends', () => {
    expect(accessFor([sub({ status: 'trialing', trial_end: iso(NOW + 5 * DAY) })], 7, NOW)).toMatchObject({ state: 'trialing', accessUntil: iso(NOW + 5 * DAY) });
  });
  it('past due keeps access within the grace period, then ends', () => {
    const within = sub({ status: 'past_due', past_due_since: iso(NOW - 3 * DAY) });
    expect(accessFor([within], 7, NOW)).toMatchObject({ state: 'past_due', hasAccess: true, accessUntil: iso(NOW + 4 * DAY) });
    const beyond = sub({ status: 'past_due', past_due_since: iso(NOW - 8 * DAY) });
    expect(accessFor([beyond], 7, NOW)).toMatchObject({ state: 'ended', hasAccess: false });
  });
  it('canceled, unpaid, paused and incomplete_expired have ended; incomplete grants nothing yet', () => {
    for (const status of ['canceled', 'unpaid', 'paused', 'incomplete_expired']) {
      expect(accessFor([sub({ status, ended_at: iso(NOW - DAY) })], 7, NOW)).toMatchObject({ state: 'ended', hasAccess: false });
    }
    expect(accessFor([sub({ status: 'incomplete' })], 7, NOW)).toMatchObject({ state: 'none', hasAccess: false });
  });
  it('takes the best of several subscriptions', () => {
    const old = sub({ id: 'sub_old', status: 'canceled', ended_at: iso(NOW - 30 * DAY) });
    const cur = sub({ id: 'sub_new', status: 'active' });
    const a = accessFor([old, cur], 7, NOW);
    expect(a.state).toBe('active');
    expect(a.subscription?.id).toBe('sub_new');
    const later = sub({ id: 'sub_later', current_period_end: iso(NOW + 25 * DAY) });
    expect(accessFor([cur, later], 7, NOW).subscription?.id).toBe('sub_later');
  });
});
