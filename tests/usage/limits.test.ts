/**
 * POST usage against the plan catalogue's limits: hard limits admit records only up to the
 * limit of the period and refuse the rest (listed), even under many concurrent batches; soft
 * limits record past the limit and the overage reaches Stripe's meter; features other than
 * the metered one stay in our ledger.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uid, type Call, type Stack } from '../helpers/stack.ts';
import {
  DAY, expectStripeMatchesLedger, linkedAccount, nowS, postUsage, record, report, startUsageStack, stripeTotal, TEST_CATALOGUE,
  type StripeSide, type UsageInput,
} from './helpers.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  // Enough connections that concurrent batches really run at once.
  ({ stack, s } = await startUsageStack({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE), DATABASE_POOL_MAX: '12' }));
});
afterEach(async () => {
  await expectStripeMatchesLedger(stack, s);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

const key = () => uid('k');

/** Resolves once `count` of the app's sessions wait for a lock inside billing_usage_record. */
async function waitingOnLock(count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [row] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where wait_event_type = 'Lock' and query like '%billing_usage_record%' and pid <> pg_backend_pid()`;
    if (row!.n >= count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`fewer than ${count} batches wait for the counter`);
}

async function ledger(accountId: string): Promise<Array<{ key: string; feature: string | null; quantity: number }>> {
  return stack.sql`select idempotency_key as key, feature, quantity::int from billing_usage_records where account_id = ${accountId} order by id`;
}

describe('hard limits', () => {
  it('admit records up to the limit of the period, refuse the rest and say which (index, key, feature)', async () => {
    const account = `user:${uid('u')}`; // no subscription: the free plan, exports hard 3
    const first = await postUsage({ records: [{ accountId: account, quantity: 2, idempotencyKey: 'e1', feature: 'exports' }] });
    expect(first.body).toEqual({ accepted: 1, duplicates: [], refused: [] });
    const res = await postUsage({
      records: [
        { accountId: account, quantity: 2, idempotencyKey: 'e2', feature: 'exports' }, // 4 > 3: refused
        { accountId: account, quantity: 5, idempotencyKey: 'v1' }, // events (hard 50): fits
        { accountId: account, quantity: 1, idempotencyKey: 'e3', feature: 'exports' }, // fits: 3
        { accountId: account, quantity: 1, idempotencyKey: 'e1', feature: 'exports' }, // seen before: a no-op, not refused
        { accountId: account, quantity: 1, idempotencyKey: 'e4', feature: 'exports' }, // 4 > 3: refused
        { accountId: account, quantity: 1, idempotencyKey: 'e4', feature: 'exports' }, // the same key again: refused with it
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      accepted: 2,
      duplicates: [{ index: 3, idempotencyKey: 'e1' }],
      refused: [
        { index: 0, idempotencyKey: 'e2', feature: 'exports', code: 'LIMIT_EXCEEDED' },
        { index: 4, idempotencyKey: 'e4', feature: 'exports', code: 'LIMIT_EXCEEDED' },
        { index: 5, idempotencyKey: 'e4', feature: 'exports', code: 'LIMIT_EXCEEDED' },
      ],
    });
    expect(await ledger(account)).toEqual([
      { key: 'e1', feature: 'exports', quantity: 2 },
      { key: 'e3', feature: 'exports', quantity: 1 },
      { key: 'v1', feature: null, quantity: 5 },
    ]);
    // The metered feature named explicitly is the same as no feature; its limit is hard on this plan.
    const events = await postUsage({ records: [{ accountId: account, quantity: 46, idempotencyKey: 'v2', feature: 'events' }] });
    expect(events.body.refused).toEqual([{ index: 0, idempotencyKey: 'v2', feature: 'events', code: 'LIMIT_EXCEEDED' }]);
    expect((await postUsage({ accountId: account, quantity: 45, idempotencyKey: 'v2' })).body).toEqual({ accepted: 1, duplicates: [], refused: [] });
  });

  it('under many concurrent batches, admit exactly the limit: never more, and every other record is listed as refused', async () => {
    const a = await linkedAccount({ period: { start: nowS() - DAY, end: nowS() + 29 * DAY }, priceId: 'price_basic_monthly' }); // exports hard 10
    const batches: UsageInput[][] = Array.from({ length: 24 }, (_, b) =>
      Array.from({ length: 5 }, (_, i) => ({ accountId: a.accountId, quantity: 1, idempotencyKey: `x-${b}-${i}`, feature: 'exports' })),
    );
    // The period's counter exists (one export); a transaction of ours holds it while the
    // batches arrive, so a dozen of them (the pool's connections) start deciding at once.
    expect((await postUsage({ accountId: a.accountId, quantity: 1, idempotencyKey: 'x-first', feature: 'exports' })).body.accepted).toBe(1);
    batches[0]![0]!.idempotencyKey = 'x-first'; // a duplicate of it: a no-op, neither admitted nor refused
    const holder = await stack.sql.reserve();
    let answers: Call[];
    try {
      await holder`begin`;
      await holder`select used from billing_usage_counters where account_id = ${a.accountId} and feature = 'exports' for update`;
      const posted = Promise.all(batches.map((records) => postUsage({ records })));
      await waitingOnLock(10);
      await holder`commit`;
      answers = await posted;
    } finally {
      holder.release();
    }
    expect(answers.map((r) => r.status)).toEqual(batches.map(() => 200));
    expect(answers[0]!.body.duplicates).toEqual([{ index: 0, idempotencyKey: 'x-first' }]);
    const admitted = answers.reduce((n, r) => n + r.body.accepted, 0);
    expect(admitted).toBe(9);
    const refused = answers.flatMap((r, b) =>
      (r.body.refused as Array<{ index: number; idempotencyKey: string; feature: string }>).map((x) => {
        expect(x).toEqual({ index: x.index, idempotencyKey: batches[b]![x.index]!.idempotencyKey, feature: 'exports', code: 'LIMIT_EXCEEDED' });
        return x.idempotencyKey;
      }),
    );
    const stored = (await ledger(a.accountId)).map((r) => r.key);
    expect(stored).toHaveLength(10);
    // Every record is either stored or refused, never both (x-first twice: stored before, then a duplicate).
    expect([...stored, ...refused, 'x-first'].sort()).toEqual([...batches.flat().map((r) => r.idempotencyKey), 'x-first'].sort());
    const [counter] = await stack.sql<{ used: number }[]>`select used::int from billing_usage_counters where account_id = ${a.accountId} and feature = 'exports'`;
    expect(counter?.used).toBe(10);
  });

  it('count what was recorded in the period before the limits applied (the counter starts from the ledger)', async () => {
    const account = `org:${uid('org')}`;
    stack.setEnv({ BILLING_CATALOGUE: JSON.stringify({ plans: [] }) });
    try {
      await record([{ accountId: account, quantity: 48, idempotencyKey: key() }]);
    } finally {
      stack.setEnv({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE) });
    }
    const res = await postUsage({ records: [1, 1, 1].map((quantity) => ({ accountId: account, quantity, idempotencyKey: key() })) });
    expect(res.body).toMatchObject({ accepted: 2, refused: [{ index: 2 }] });
  });

  it('leave a refused key free: once the plan allows more, the same record is recorded (not a duplicate)', async () => {
    const account = `user:${uid('u')}`;
    const body = { accountId: account, quantity: 4, idempotencyKey: 'big-export', feature: 'exports' };
    expect((await postUsage(body)).body).toMatchObject({ accepted: 0, duplicates: [], refused: [{ index: 0 }] });
    const roomier = { ...TEST_CATALOGUE, plans: TEST_CATALOGUE.plans.map((p) => (p.key === 'free' ? { ...p, limits: { exports: { limit: 4, hard: true } } } : p)) };
    stack.setEnv({ BILLING_CATALOGUE: JSON.stringify(roomier) });
    try {
      expect((await postUsage(body)).body).toEqual({ accepted: 1, duplicates: [], refused: [] });
    } finally {
      stack.setEnv({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE) });
    }
  });

  it('do not limit usage that occurred in an earlier period (late arrivals count toward the period they occurred in)', async () => {
    const account = `user:${uid('u')}`;
    const now = new Date();
    const lastMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1) / 1000 - 3600;
    const res = await postUsage({
      records: [
        { accountId: account, quantity: 3, idempotencyKey: key(), feature: 'exports' },
        { accountId: account, quantity: 3, idempotencyKey: key(), feature: 'exports', timestamp: lastMonth },
        { accountId: account, quantity: 1, idempotencyKey: key(), feature: 'exports' },
      ],
    });
    expect(res.body).toMatchObject({ accepted: 2, refused: [{ index: 2 }] });
  });

  it('refuse a feature the catalogue does not limit (a typo must not slip past a limit), with the others: nothing recorded', async () => {
    const account = `user:${uid('u')}`;
    const res = await postUsage({ records: [{ accountId: account, quantity: 1, idempotencyKey: key() }, { accountId: account, quantity: 1, idempotencyKey: key(), feature: 'export' }] });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([{ index: 1, field: 'feature', message: expect.stringMatching(/events, exports/) }]);
    expect(await ledger(account)).toEqual([]);
  });
});

describe('soft limits and the meter', () => {
  it('record past a soft limit, and the whole of it, overage included, reaches Stripe\'s meter', async () => {
    const a = await linkedAccount({ period: { start: nowS() - DAY, end: nowS() + 29 * DAY }, priceId: 'price_basic_monthly' }); // events soft 100
    const res = await postUsage({ records: [80, 30, 25].map((quantity) => ({ accountId: a.accountId, quantity, idempotencyKey: key() })) });
    expect(res.body).toMatchObject({ accepted: 3, refused: [] });
    await report();
    expect(await stripeTotal(s, a.customer)).toBe(135);
  });

  it('only the metered feature is reported: other features stay in our ledger and never reach the meter', async () => {
    const a = await linkedAccount({ period: { start: nowS() - DAY, end: nowS() + 29 * DAY }, priceId: 'price_basic_monthly' });
    await record([
      { accountId: a.accountId, quantity: 7, idempotencyKey: key() },
      { accountId: a.accountId, quantity: 2, idempotencyKey: key(), feature: 'exports' },
      { accountId: a.accountId, quantity: 4, idempotencyKey: key(), feature: 'events' },
    ]);
    const result = await report();
    expect(result).toMatchObject({ quantity: 11, stopped: 'done' });
    expect(await stripeTotal(s, a.customer)).toBe(11);
    const events = s.double.state.meterEvents.filter((e) => e.payload.stripe_customer_id === a.customer);
    expect(events.map((e) => e.payload.value)).toEqual(['11']);
    // Nothing of `exports` is left waiting for the reporter.
    expect(await report()).toMatchObject({ claimed: 0 });
    const [row] = await stack.sql<{ pending: number }[]>`select count(*)::int as pending from billing_usage_records where account_id = ${a.accountId} and batch_id is null and feature is null`;
    expect(row?.pending).toBe(0);
  });

  it('with no catalogue (plans: []), records are as before: nothing limited, all of it reported', async () => {
    stack.setEnv({ BILLING_CATALOGUE: JSON.stringify({ plans: [] }) });
    try {
      const a = await linkedAccount();
      const res = await postUsage({ records: [5000, 7000].map((quantity) => ({ accountId: a.accountId, quantity, idempotencyKey: key() })) });
      expect(res.body).toEqual({ accepted: 2, duplicates: [], refused: [] });
      const [n] = await stack.sql<{ n: number }[]>`select count(*)::int as n from billing_usage_counters where account_id = ${a.accountId}`;
      expect(n?.n).toBe(0);
      await report();
      expect(await stripeTotal(s, a.customer)).toBe(12000);
    } finally {
      stack.setEnv({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE) });
    }
  });
});
