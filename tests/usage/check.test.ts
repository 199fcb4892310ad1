/**
 * The browser client's check(feature, amount): may the signed-in account use that much more
 * now? Answered from GET usage with the user's token, recording nothing, and agreeing with
 * what POST usage then admits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BillingError, createBillingClient } from '../../client/billing-client.ts';
import usage from '../../functions/usage.ts';
import { tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { DAY, linkedAccount, nowS, postUsage, report, startUsageStack, TEST_CATALOGUE, type StripeSide } from './helpers.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  ({ stack, s } = await startUsageStack({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE) }));
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

/** The client as a page would use it, its requests served by the usage function itself. */
async function clientFor(sub: string) {
  const token = await tokenFor({ sub });
  const requests: string[] = [];
  const billing = createBillingClient({
    baseUrl: 'http://localhost:8888/api/billing',
    getToken: () => token,
    fetch: async (input, init) => {
      const req = new Request(input, init);
      requests.push(`${req.method} ${new URL(req.url).pathname}`);
      return usage(req, {});
    },
  });
  return { billing, requests };
}

const records = (accountId: string) =>
  stack.sql<{ n: number }[]>`select count(*)::int as n from billing_usage_records where account_id = ${accountId}`.then(([r]) => r!.n);

describe('check(feature, amount)', () => {
  it('a hard limit: allowed while the amount fits, with what remains; nothing is recorded by asking', async () => {
    const user = uid('u'); // free plan: exports hard 3
    const { billing, requests } = await clientFor(user);
    expect(await billing.check('exports')).toEqual({ allowed: true, remaining: 3, limit: 3, hard: true });
    expect(await billing.check('exports', 4)).toEqual({ allowed: false, remaining: 3, limit: 3, hard: true });
    expect(requests).toEqual(['GET /api/billing/usage', 'GET /api/billing/usage']);
    expect(await records(`user:${user}`)).toBe(0);

    await postUsage({ accountId: `user:${user}`, quantity: 2, idempotencyKey: uid('k'), feature: 'exports' });
    expect(await billing.check('exports', 1)).toEqual({ allowed: true, remaining: 1, limit: 3, hard: true });
    expect(await billing.check('exports', 2)).toEqual({ allowed: false, remaining: 1, limit: 3, hard: true });
    // What check said is what POST usage does.
    const two = await postUsage({ accountId: `user:${user}`, quantity: 2, idempotencyKey: uid('k'), feature: 'exports' });
    expect(two.body.refused).toHaveLength(1);
  });

  it('a soft limit: always allowed (overage is billed), remaining down to 0', async () => {
    const a = await linkedAccount({ period: { start: nowS() - DAY, end: nowS() + 29 * DAY }, priceId: 'price_basic_monthly' }); // events soft 100
    await postUsage({ accountId: a.accountId, quantity: 120, idempotencyKey: uid('k') });
    const { billing } = await clientFor(a.id);
    expect(await billing.check('events', 50)).toEqual({ allowed: true, remaining: 0, limit: 100, hard: false });
    await report();
  });

  it('a boolean feature of the plan as the plan says; a feature without a limit is allowed', async () => {
    const pro = await linkedAccount({ period: { start: nowS() - DAY, end: nowS() + 29 * DAY }, priceId: 'price_pro_monthly' });
    expect(await (await clientFor(pro.id)).billing.check('api')).toEqual({ allowed: true, remaining: null, limit: null, hard: false });
    const { billing } = await clientFor(uid('u'));
    expect(await billing.check('api')).toEqual({ allowed: false, remaining: null, limit: null, hard: false });
    expect(await (await clientFor(pro.id)).billing.check('exports', 1000)).toEqual({ allowed: true, remaining: null, limit: null, hard: false });
  });

  it('misuse is INVALID_ARGUMENT, before any request', async () => {
    const { billing, requests } = await clientFor(uid('u'));
    for (const args of [[''], [42], ['exports', 0], ['exports', 1.5], ['exports', '2']] as unknown[][]) {
      const err = await (billing.check as (...a: unknown[]) => Promise<unknown>)(...args).catch((e: unknown) => e);
      expect(err, JSON.stringify(args)).toBeInstanceOf(BillingError);
      expect((err as BillingError).code).toBe('INVALID_ARGUMENT');
    }
    expect(requests).toEqual([]);
  });
});
