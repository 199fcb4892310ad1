/** The catalogue's plan-change policy: which changes are upgrades (now) and which downgrades (period end). */
import { describe, expect, it } from 'vitest';
import type { ChangePolicy } from '../shared/catalogue.ts';
import { classify, takesEffect, type Terms } from '../shared/plan-change/policy.ts';

const terms = (over: Partial<Terms>): Terms => ({ priceId: 'price_a', unitAmount: 900, interval: 'month', intervalCount: 1, quantity: 1, rank: 0, ...over });
const byAmount: ChangePolicy = { upgradeBy: 'amount', downgrades: 'period_end' };
const byOrder: ChangePolicy = { upgradeBy: 'order', downgrades: 'period_end' };

describe('plan-change policy', () => {
  it('by amount: a higher amount per period, more seats or a longer interval is an upgrade; the opposite a downgrade', () => {
    const basic = terms({});
    expect(classify(byAmount, basic, terms({ priceId: 'pro', unitAmount: 2900, rank: 1 }))).toBe('upgrade');
    expect(classify(byAmount, terms({ priceId: 'pro', unitAmount: 2900 }), basic)).toBe('downgrade');
    expect(classify(byAmount, basic, terms({ quantity: 3 }))).toBe('upgrade');
    expect(classify(byAmount, terms({ quantity: 3 }), basic)).toBe('downgrade');
    // A year at a lower monthly rate is still a longer commitment: an upgrade; back to monthly a downgrade.
    const yearly = terms({ priceId: 'basic_yearly', interval: 'year', unitAmount: 9000 });
    expect(classify(byAmount, basic, yearly)).toBe('upgrade');
    expect(classify(byAmount, yearly, basic)).toBe('downgrade');
    // Another plan at the same amount: nothing to pay, so at once.
    expect(classify(byAmount, basic, terms({ priceId: 'other', rank: 2 }))).toBe('upgrade');
    expect(classify(byAmount, basic, terms({}))).toBe('none');
  });

  it("by order: the catalogue's order decides first, then interval, then seats", () => {
    const cheapButHigher = terms({ priceId: 'later', unitAmount: 100, rank: 3 });
    expect(classify(byOrder, terms({ rank: 1 }), cheapButHigher)).toBe('upgrade');
    expect(classify(byAmount, terms({ rank: 1 }), cheapButHigher)).toBe('downgrade');
    expect(classify(byOrder, terms({ rank: 1, quantity: 4 }), terms({ rank: 1, quantity: 2 }))).toBe('downgrade');
  });

  it('downgrades wait for the period end unless the policy says now; upgrades are always now', () => {
    expect(takesEffect(byAmount, 'downgrade')).toBe('period_end');
    expect(takesEffect({ ...byAmount, downgrades: 'now' }, 'downgrade')).toBe('now');
    expect(takesEffect(byAmount, 'upgrade')).toBe('now');
  });
});
