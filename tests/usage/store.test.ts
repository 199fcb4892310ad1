/**
 * The usage SQL functions' contract, over both clients on the same real Postgres: the SQL
 * driver and supabase-js (its fetch routed to the same functions). Leases, releases and
 * the claim's windows, without Stripe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../shared/config.ts';
import { createStore, type Store, type UsageBatch } from '../../shared/store/index.ts';
import { bothStores } from '../helpers/postgrest.ts';
import { startStack, uid, type Stack } from '../helpers/stack.ts';

let stack: Stack;
let both: Awaited<ReturnType<typeof bothStores>>;
let stores: Record<'sql' | 'supabase', Store>;

beforeAll(async () => {
  stack = await startStack();
  both = await bothStores(stack.databaseUrl);
  stores = both.stores;
});
afterAll(async () => {
  await both.close();
  await stack.stop();
});

const HOUR = 3600;
const iso = (unix: number) => new Date(unix * 1000).toISOString();
const hour = Math.floor(Date.now() / 1000 / HOUR) * HOUR - 5 * HOUR;
const claimArgs = { lease_seconds: 60, max_batches: 100, window_seconds: HOUR };

describe.each(['sql', 'supabase'])('usage store over %s', (kind) => {
  const store = () => stores[kind as 'sql' | 'supabase'];
  /** Claims and keeps only this test's customer's batches (other tests' are left leased to no one who cares). */
  const claimFor = async (customer: string): Promise<UsageBatch[]> => (await store().claimUsage(claimArgs)).filter((b) => b.customer_id === customer);

  it('records a batch in one call, duplicates by index, and typed numbers come back', async () => {
    const account = `user:${uid('u')}`;
    const rows = [1, 2, 3].map((q) => ({ account_id: account, key: `k${q}`, quantity: q, occurred_at: iso(hour + q) }));
    expect(await store().recordUsage(rows)).toEqual({ accepted: 3, duplicates: [], refused: [] });
    expect(await store().recordUsage([rows[1]!, { ...rows[0]!, key: 'k4' }])).toEqual({ accepted: 1, duplicates: [0], refused: [] });
    expect(await store().usageTotals(account, iso(hour), iso(hour + HOUR))).toEqual({ recorded: 7, reported: 0, failed: 0, records: 4, features: {} });
  });

  it('claims one batch per customer and window, leased; then mark reported', async () => {
    const account = `org:${uid('org')}`;
    const customer = uid('cus');
    await store().linkCustomer({ account_id: account, kind: 'organization', customer_id: customer });
    await store().recordUsage([
      { account_id: account, key: 'a', quantity: 5, occurred_at: iso(hour + 100) },
      { account_id: account, key: 'b', quantity: 7, occurred_at: iso(hour + 50) },
      { account_id: account, key: 'c', quantity: 9, occurred_at: iso(hour + HOUR + 1) },
    ]);
    const batches = await claimFor(customer);
    expect(batches.map((b) => ({ identifier: b.identifier, quantity: b.quantity, records: b.records, event_timestamp: b.event_timestamp, seq: b.seq, attempts: b.attempts }))).toEqual([
      { identifier: `${customer}:${hour}:1`, quantity: 12, records: 2, event_timestamp: hour + 50, seq: 1, attempts: 1 },
      { identifier: `${customer}:${hour + HOUR}:1`, quantity: 9, records: 1, event_timestamp: hour + HOUR + 1, seq: 1, attempts: 1 },
    ]);
    expect(batches[0]!.lease_ms_left).toBeGreaterThan(55_000);
    expect(batches[0]!.lease_ms_left).toBeLessThanOrEqual(60_000);
    // Leased: nobody else gets them.
    expect(await claimFor(customer)).toEqual([]);
    expect(await store().markUsageReported(batches.map((b) => b.id))).toBe(2);
    expect(await store().markUsageReported(batches.map((b) => b.id))).toBe(0);
    expect(await store().usageTotals(account, iso(hour), iso(hour + 2 * HOUR))).toMatchObject({ recorded: 21, reported: 21 });
  });

  it('release: only the lease holder; a retry delay keeps it pending, none fails it until retried', async () => {
    const account = `user:${uid('u')}`;
    const customer = uid('cus');
    await store().linkCustomer({ account_id: account, kind: 'user', customer_id: customer });
    await store().recordUsage([
      { account_id: account, key: 'x', quantity: 1, occurred_at: iso(hour) },
      { account_id: account, key: 'y', quantity: 2, occurred_at: iso(hour + 2 * HOUR) },
    ]);
    const [soon, bad] = await claimFor(customer);
    expect(await store().releaseUsage('00000000-0000-0000-0000-000000000000', [{ id: soon!.id, error: 'x', retry_in_seconds: 0 }])).toBe(0);
    expect(
      await store().releaseUsage(soon!.lease_token, [
        { id: soon!.id, error: 'Stripe 503', retry_in_seconds: 0 },
        { id: bad!.id, error: 'Stripe 400: no such customer', retry_in_seconds: null },
      ]),
    ).toBe(2);
    const again = await claimFor(customer);
    expect(again.map((b) => [b.identifier, b.attempts])).toEqual([[soon!.identifier, 2]]);
    const [failed] = await stack.sql<{ status: string; last_error: string }[]>`select status, last_error from billing_usage_batches where id = ${bad!.id}`;
    expect(failed).toEqual({ status: 'failed', last_error: 'Stripe 400: no such customer' });
    expect(await store().usageTotals(account, iso(hour), iso(hour + 3 * HOUR))).toMatchObject({ recorded: 3, failed: 2 });
    expect(await store().retryFailedUsage()).toBeGreaterThanOrEqual(1);
    await store().releaseUsage(again[0]!.lease_token, [{ id: again[0]!.id, error: 'later', retry_in_seconds: 3600 }]);
    expect((await claimFor(customer)).map((b) => b.identifier)).toEqual([bad!.identifier]);
  });

  it('with limits: refuses past a hard limit by index and feature, records the rest, and counts only the metered feature as reported usage', async () => {
    const account = `user:${uid('u')}`;
    const options = { metered_feature: 'events', grace_days: 7, limits: { products: {}, free: { exports: { limit: 2, hard: true } } } };
    const now = new Date().toISOString();
    const rows = [1, 2, 1].map((q, i) => ({ account_id: account, key: `x${i}`, quantity: q, occurred_at: now, feature: 'exports' }));
    expect(await store().recordUsage([...rows, { account_id: account, key: 'e', quantity: 5, occurred_at: now }], options)).toEqual({
      accepted: 3, duplicates: [], refused: [{ index: 1, feature: 'exports' }],
    });
    const month = { start: new Date(Date.now() - 86_400_000).toISOString(), end: new Date(Date.now() + 60_000).toISOString() };
    expect(await store().usageTotals(account, month.start, month.end)).toEqual({ recorded: 5, reported: 0, failed: 0, records: 1, features: { exports: 2 } });
    const overview = await store().usageOverview(account, month);
    expect(overview.alerts.map((a) => [a.feature, a.threshold, a.used, a.limit])).toEqual([['exports', 80, 2, 2], ['exports', 100, 2, 2]]);
  });

  it('leaves unlinked accounts\' usage unclaimed', async () => {
    const account = `user:${uid('u')}`;
    await store().recordUsage([{ account_id: account, key: 'z', quantity: 1, occurred_at: iso(hour) }]);
    const claimed = await store().claimUsage(claimArgs);
    expect(claimed.filter((b) => b.account_id === account)).toEqual([]);
  });
});
