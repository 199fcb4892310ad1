/**
 * The reporter under Stripe's rate limits (the double enforcing them): unpaced, a few dozen
 * batches already exceed test mode's 25 writes a second, Stripe answers 429 and the run stops
 * with usage left behind; paced (the default: 80 % of the limit for the key's mode, here a
 * test key) every batch goes through with nothing refused.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../helpers/stack.ts';
import { uid } from '../helpers/stack.ts';
import { expectStripeMatchesLedger, linkedAccount, minute, record, report, startUsageStack, type StripeSide } from './helpers.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  ({ stack, s } = await startUsageStack());
});
afterEach(async () => {
  // Off first: the check below reads Stripe's meter too.
  s.double.rateLimits.set(null);
  await report({ maxCallsPerSecond: 1000 });
  await expectStripeMatchesLedger(stack, s);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

/** One batch per account: `n` accounts with usage in the same minute. */
async function batches(n: number): Promise<void> {
  const accounts = await Promise.all(Array.from({ length: n }, () => linkedAccount()));
  await record(accounts.map((a) => ({ accountId: a.accountId, quantity: 2, idempotencyKey: uid('k'), timestamp: minute(5) + 1 })));
}

describe('reporting under Stripe rate limits', () => {
  it('unpaced, 40 batches exceed test mode and Stripe refuses some', async () => {
    await batches(40);
    s.double.rateLimits.set('test');
    const result = await report({ maxCallsPerSecond: 1_000_000, concurrency: 8 });
    expect(s.double.rateLimits.stats().refused).toBeGreaterThan(0);
    expect(result.reported).toBeLessThan(40);
  });

  it('paced by default, 40 batches in test mode all go through and Stripe refuses none', async () => {
    await batches(40);
    s.double.rateLimits.set('test');
    const result = await report({ concurrency: 8 });
    expect(result).toMatchObject({ claimed: 40, reported: 40, deferred: 0, failed: 0, stripeCalls: 40, stopped: 'done' });
    const stats = s.double.rateLimits.stats();
    expect(stats.refused).toBe(0);
    expect(stats.peak.meterEvents).toBeLessThanOrEqual(25);
  });
});
