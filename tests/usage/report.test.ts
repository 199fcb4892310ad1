/**
 * The reporter against the Stripe double and real Postgres: one meter event per customer
 * and window, exactly once through concurrent reporters, crashes and Stripe outages.
 * After every scenario, Stripe's meter holds exactly what our ledger recorded.
 */
import { checkoutSessionIdOf } from '../../dev/stripe-double/index.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../../functions/checkout.ts';
import usage from '../../functions/usage.ts';
import { config } from '../../shared/config.ts';
import { getStore } from '../../shared/store/index.ts';
import { call, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import {
  EVENT_NAME,
  expectStripeMatchesLedger,
  identifiersAtStripe,
  linkedAccount,
  meterEventPosts,
  minute,
  nowS,
  record,
  report,
  startUsageStack,
  stripeTotal,
  type StripeSide,
} from './helpers.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  ({ stack, s } = await startUsageStack());
});
afterEach(async () => {
  s.double.faults.clear();
  await expectStripeMatchesLedger(stack, s);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

const key = () => uid('k');

describe('reporting', () => {
  it('sends one meter event per customer and window, carrying the sum, with an identifier naming what it covers', async () => {
    const a = await linkedAccount();
    const b = await linkedAccount({ kind: 'organization' });
    const m1 = minute(10);
    const m2 = minute(9);
    await record([
      { accountId: a.accountId, quantity: 3, idempotencyKey: key(), timestamp: m1 + 5 },
      { accountId: a.accountId, quantity: 4, idempotencyKey: key(), timestamp: m1 + 50 },
      { accountId: a.accountId, quantity: 5, idempotencyKey: key(), timestamp: m2 + 1 },
      { accountId: b.accountId, quantity: 6, idempotencyKey: key(), timestamp: new Date((m1 + 30) * 1000).toISOString() },
    ]);
    const posts = meterEventPosts(s);
    const result = await report();
    expect(result).toMatchObject({ claimed: 3, reported: 3, duplicates: 0, failed: 0, deferred: 0, stripeCalls: 3, quantity: 18, stopped: 'done' });
    expect(meterEventPosts(s) - posts).toBe(3);
    const events = s.double.state.meterEvents.filter((e) => [a.customer, b.customer].includes(e.payload.stripe_customer_id ?? ''));
    expect(events.map((e) => ({ identifier: e.identifier, event_name: e.event_name, timestamp: e.timestamp, payload: e.payload })).sort((x, y) => x.identifier.localeCompare(y.identifier))).toEqual(
      [
        { identifier: `${a.customer}:${m1}:1`, event_name: EVENT_NAME, timestamp: m1 + 5, payload: { stripe_customer_id: a.customer, value: '7' } },
        { identifier: `${a.customer}:${m2}:1`, event_name: EVENT_NAME, timestamp: m2 + 1, payload: { stripe_customer_id: a.customer, value: '5' } },
        { identifier: `${b.customer}:${m1}:1`, event_name: EVENT_NAME, timestamp: m1 + 30, payload: { stripe_customer_id: b.customer, value: '6' } },
      ].sort((x, y) => x.identifier.localeCompare(y.identifier)),
    );
    // Nothing left: a second run claims nothing and calls Stripe for nothing.
    expect(await report()).toMatchObject({ claimed: 0, stripeCalls: 0 });
  });

  it('usage arriving later for a window already reported goes out as that window\'s next batch', async () => {
    const a = await linkedAccount();
    const m = minute(5);
    await record([{ accountId: a.accountId, quantity: 2, idempotencyKey: key(), timestamp: m + 10 }]);
    await report();
    await record([{ accountId: a.accountId, quantity: 3, idempotencyKey: key(), timestamp: m + 20 }]);
    expect(await report()).toMatchObject({ reported: 1, quantity: 3 });
    expect(identifiersAtStripe(s).filter((id) => id.startsWith(a.customer))).toEqual([`${a.customer}:${m}:1`, `${a.customer}:${m}:2`]);
    expect(await stripeTotal(s, a.customer)).toBe(5);
  });

  it('makes no more Stripe calls than customers x windows, however many records', async () => {
    const accounts = await Promise.all(Array.from({ length: 5 }, () => linkedAccount()));
    const windows = [minute(30), minute(20), minute(10)];
    const records = accounts.flatMap((a) => windows.flatMap((w) => Array.from({ length: 40 }, (_, i) => ({ accountId: a.accountId, quantity: 1, idempotencyKey: key(), timestamp: w + (i % 60) }))));
    await record(records);
    const result = await report();
    expect(result).toMatchObject({ reported: 15, stripeCalls: 15, quantity: 600 });
  });
});

describe('accounts without a Stripe customer yet', () => {
  it('keeps their usage and reports it once checkout links the account', async () => {
    const user = uid('u');
    const token = await tokenFor({ sub: user, email: 'late@example.com' });
    await record([
      { accountId: `user:${user}`, quantity: 11, idempotencyKey: key(), timestamp: nowS() - 60 },
      { accountId: `user:${user}`, quantity: 12, idempotencyKey: key() },
    ]);
    expect(await report()).toMatchObject({ claimed: 0, stripeCalls: 0 });
    const before = await call(usage, 'GET', '/api/stripe/usage', { token });
    expect(before.body).toMatchObject({ customerId: null, recorded: 23, reported: 0, pending: 23 });

    // The real path: checkout, then Stripe's webhooks link the customer to the account.
    const session = await call(checkout, 'POST', '/api/stripe/checkout', { token });
    await s.double.actions.completeCheckout(checkoutSessionIdOf(session.body.url));
    await s.double.idle();
    const account = (await getStore(config()).getAccount(`user:${user}`)).account;
    expect(account?.stripe_customer_id).toMatch(/^cus_/);

    expect(await report()).toMatchObject({ reported: 2, quantity: 23 });
    expect(await stripeTotal(s, account!.stripe_customer_id!)).toBe(23);
    // The subscription's first period starts at checkout, after this usage: the ledger and
    // Stripe both hold it, at its own time, outside the new period.
    const after = await call(usage, 'GET', '/api/stripe/usage', { token });
    expect(after.body).toMatchObject({ period: { source: 'subscription' }, customerId: account!.stripe_customer_id, pending: 0 });
    const [row] = await stack.sql<{ reported: number }[]>`
      select sum(r.quantity)::int as reported from billing_usage_records r join billing_usage_batches b on b.id = r.batch_id
      where r.account_id = ${`user:${user}`} and b.status = 'reported'`;
    expect(row?.reported).toBe(23);
  });
});

describe('exactly once under concurrency and failure', () => {
  it('two (here three) reporters at once never send the same usage twice', async () => {
    const accounts = await Promise.all(Array.from({ length: 12 }, () => linkedAccount()));
    const windows = [minute(40), minute(35), minute(30), minute(25)];
    await record(accounts.flatMap((a) => windows.flatMap((w) => [1, 2, 3].map((q) => ({ accountId: a.accountId, quantity: q, idempotencyKey: key(), timestamp: w + q })))));
    const posts = meterEventPosts(s);
    // Small claims so the reporters interleave, claim after claim.
    const results = await Promise.all([1, 2, 3].map(() => report({ maxBatchesPerClaim: 4, concurrency: 2 })));
    const batches = accounts.length * windows.length;
    expect(results.reduce((n, r) => n + r.reported, 0)).toBe(batches);
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(0);
    expect(results.filter((r) => r.reported > 0).length).toBeGreaterThan(1);
    expect(meterEventPosts(s) - posts).toBe(batches);
    const ids = identifiersAtStripe(s);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('a reporter that dies after Stripe accepted, before our commit: the re-send is deduplicated by Stripe', async () => {
    const a = await linkedAccount();
    const m = minute(15);
    await record([1, 2, 3].map((q) => ({ accountId: a.accountId, quantity: q, idempotencyKey: key(), timestamp: m + q * 70 })));
    // A real failure of our commit: the database refuses to mark any batch reported.
    await stack.sql.unsafe(`
      create function pg_temp_refuse() returns trigger language plpgsql as $$ begin raise exception 'commit lost'; end $$;
      create trigger refuse_reported before update on billing_usage_batches for each row when (new.status = 'reported') execute function pg_temp_refuse();`);
    let crashed;
    try {
      crashed = await report({ leaseSeconds: 2 });
    } finally {
      await stack.sql.unsafe('drop trigger refuse_reported on billing_usage_batches; drop function pg_temp_refuse();');
    }
    expect(crashed).toMatchObject({ reported: 0, stripeCalls: 3, stopped: 'store_error' });
    expect(await stripeTotal(s, a.customer)).toBe(6);
    const pending = await stack.sql`select identifier from billing_usage_batches where customer_id = ${a.customer} and status = 'pending'`;
    expect(pending).toHaveLength(3);

    // While the lease holds, nobody re-sends.
    expect(await report()).toMatchObject({ claimed: 0, stripeCalls: 0 });
    await new Promise((r) => setTimeout(r, 2100));
    const posts = meterEventPosts(s);
    const rerun = await report();
    expect(rerun).toMatchObject({ claimed: 3, reported: 3, duplicates: 3, stripeCalls: 3 });
    expect(meterEventPosts(s) - posts).toBe(3);
    expect(identifiersAtStripe(s).filter((id) => id.startsWith(a.customer))).toHaveLength(3);
    expect(await stripeTotal(s, a.customer)).toBe(6);
  });

  it('Stripe down: nothing is lost, batches stay pending; back up: all reported once', async () => {
    const accounts = await Promise.all(Array.from({ length: 6 }, () => linkedAccount()));
    await record(accounts.map((a) => ({ accountId: a.accountId, quantity: 9, idempotencyKey: key(), timestamp: minute(3) + 1 })));
    s.double.faults.inject({ method: 'POST', path: /^\/v1\/billing\/meter_events/, status: 503, times: 1000 });
    const down = await report({ attempts: 3, breakerThreshold: 2, concurrency: 1 });
    expect(down).toMatchObject({ claimed: 6, reported: 0, failed: 0, deferred: 6, stopped: 'stripe_unavailable' });
    // It retried with backoff, then stopped calling a Stripe that is down.
    expect(down.stripeCalls).toBe(2 * 3);
    const [row] = await stack.sql<{ n: number }[]>`select count(*)::int as n from billing_usage_batches where status = 'pending' and customer_id = any(${accounts.map((a) => a.customer)})`;
    expect(row?.n).toBe(6);
    for (const a of accounts) expect(await stripeTotal(s, a.customer)).toBe(0);

    s.double.faults.clear();
    expect(await report()).toMatchObject({ reported: 6, duplicates: 0, quantity: 54, stopped: 'done' });
  });

  it('a batch Stripe could not take is not offered again before its backoff', async () => {
    const a = await linkedAccount();
    await record([{ accountId: a.accountId, quantity: 1, idempotencyKey: key(), timestamp: minute(2) }]);
    s.double.faults.inject({ method: 'POST', path: /^\/v1\/billing\/meter_events/, status: 500, times: 1 });
    expect(await report({ attempts: 1, releaseBackoffSeconds: 60 })).toMatchObject({ deferred: 1, stripeCalls: 1 });
    expect(await report()).toMatchObject({ claimed: 0, stripeCalls: 0 });
    // Time passes (the backoff is stored with the batch).
    await stack.sql`update billing_usage_batches set lease_until = now() where customer_id = ${a.customer}`;
    expect(await report()).toMatchObject({ reported: 1 });
  });

  it('429 and 5xx are retried with backoff within the run', async () => {
    const a = await linkedAccount();
    await record([{ accountId: a.accountId, quantity: 4, idempotencyKey: key(), timestamp: minute(2) }]);
    s.double.faults.inject({ method: 'POST', path: /^\/v1\/billing\/meter_events/, status: 429, times: 1 });
    s.double.faults.inject({ method: 'POST', path: /^\/v1\/billing\/meter_events/, status: 500, times: 1 });
    expect(await report({ attempts: 4 })).toMatchObject({ reported: 1, stripeCalls: 3, deferred: 0 });
  });

  it('a batch Stripe refuses for good is failed, shown, and goes out again only when retried', async () => {
    const a = await linkedAccount();
    await record([{ accountId: a.accountId, quantity: 8, idempotencyKey: key(), timestamp: minute(2) }]);
    s.double.faults.inject({ method: 'POST', path: /^\/v1\/billing\/meter_events/, status: 400, times: 1 });
    expect(await report()).toMatchObject({ failed: 1, reported: 0, stripeCalls: 1 });
    expect(await report()).toMatchObject({ claimed: 0 });
    const res = await call(usage, 'GET', '/api/stripe/usage', { token: await tokenFor({ sub: a.id }) });
    expect(res.body).toMatchObject({ recorded: 8, reported: 0, pending: 8, failed: 8 });
    expect(await getStore(config()).retryFailedUsage()).toBe(1);
    expect(await report()).toMatchObject({ reported: 1, quantity: 8 });
  });
});

describe('billing period boundaries', () => {
  it('a window holding a period boundary is split there, so each meter event falls in its own period', async () => {
    const boundary = minute(20) + 37; // renewals happen at any second
    const a = await linkedAccount({ period: { start: boundary, end: boundary + 30 * 86_400 } });
    await record([
      { accountId: a.accountId, quantity: 1, idempotencyKey: key(), timestamp: boundary - 20 },
      { accountId: a.accountId, quantity: 10, idempotencyKey: key(), timestamp: boundary },
      { accountId: a.accountId, quantity: 100, idempotencyKey: key(), timestamp: boundary + 15 },
    ]);
    expect(await report()).toMatchObject({ reported: 2, stripeCalls: 2 });
    const events = s.double.state.meterEvents.filter((e) => e.payload.stripe_customer_id === a.customer);
    expect(events.map((e) => [e.identifier, e.timestamp, e.payload.value])).toEqual([
      [`${a.customer}:${boundary - 37}:1`, boundary - 20, '1'],
      [`${a.customer}:${boundary}:1`, boundary, '110'],
    ]);
    const res = await call(usage, 'GET', '/api/stripe/usage', { token: await tokenFor({ sub: a.id }) });
    expect(res.body).toMatchObject({ period: { source: 'subscription', start: new Date(boundary * 1000).toISOString() }, recorded: 110, reported: 110 });
  });

  it('usage after the period ends (it may be up to 5 minutes ahead) belongs to the next period', async () => {
    const end = minute(-2); // the period ends in two minutes
    const a = await linkedAccount({ period: { start: end - 30 * 86_400, end } });
    await record([
      { accountId: a.accountId, quantity: 1, idempotencyKey: key(), timestamp: end - 1 },
      { accountId: a.accountId, quantity: 50, idempotencyKey: key(), timestamp: end },
      { accountId: a.accountId, quantity: 50, idempotencyKey: key(), timestamp: end + 60 },
    ]);
    await report();
    const res = await call(usage, 'GET', '/api/stripe/usage?source=stripe', { token: await tokenFor({ sub: a.id }) });
    expect(res.body).toMatchObject({ recorded: 1, reported: 1, stripe: { aggregatedValue: 1, end: new Date(end * 1000).toISOString() } });
    expect(await stripeTotal(s, a.customer, end, end + 3600)).toBe(100);
  });
});
