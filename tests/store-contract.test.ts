/**
 * The store's contract, run against both clients on the same real Postgres: the SQL
 * driver (DATABASE_URL) and supabase-js (its fetch routed to the same SQL functions).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../shared/config.ts';
import { createStore, type Store, type SubscriptionSnapshot } from '../shared/store/index.ts';
import { QUERY_TIMEOUT_MS } from '../shared/store/rpc.ts';
import { bothStores } from './helpers/postgrest.ts';
import { startStack, uid, type Stack } from './helpers/stack.ts';

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

function snap(over: Partial<SubscriptionSnapshot> & { id: string; customer_id: string }): SubscriptionSnapshot {
  return {
    account_id: null, status: 'active', price_id: 'price_a', product_id: 'prod_a', quantity: 1,
    current_period_start: '2026-11-01T00:00:00.000Z', current_period_end: '2026-12-01T00:00:00.000Z',
    cancel_at_period_end: false, cancel_at: null, canceled_at: null, ended_at: null, trial_start: null,
    trial_end: null, past_due_since: null,
    pending_price_id: null, pending_product_id: null, pending_quantity: null, pending_effective_at: null, stripe_created: '2026-11-01T00:00:00.000Z', snapshot_at: 1000, ...over,
  };
}

const event = (id: string) => ({ id, type: 'customer.subscription.updated', created: 1_790_000_000, object_id: null, outcome: 'applied' as const });

describe.each(['sql', 'supabase'])('store over %s', (kind) => {
  const store = () => stores[kind as 'sql' | 'supabase'];

  it('an unknown account has no row and no subscriptions', async () => {
    expect(await store().getAccount(`user:${uid('u')}`)).toEqual({ account: null, subscriptions: [] });
  });

  it('keeps any text exactly: quotes, dollar-quote tags, backslashes, emoji', async () => {
    const account = `user:${uid('u')}'$j$$$\\"😀$j0$`;
    const customer = `cus_${uid('x')}$j$`;
    expect(await store().linkCustomer({ account_id: account, kind: 'user', customer_id: customer })).toBe(customer);
    expect((await store().getAccount(account)).account).toMatchObject({ id: account, stripe_customer_id: customer });
  });

  it('links a customer once: the first link wins', async () => {
    const account = `user:${uid('u')}`;
    expect(await store().linkCustomer({ account_id: account, kind: 'user', customer_id: 'cus_first' + kind })).toBe('cus_first' + kind);
    expect(await store().linkCustomer({ account_id: account, kind: 'user', customer_id: 'cus_second' + kind })).toBe('cus_first' + kind);
    expect((await store().getAccount(account)).account).toMatchObject({ id: account, kind: 'user', stripe_customer_id: 'cus_first' + kind });
  });

  it('never moves a customer already linked to another account', async () => {
    const owner = `user:${uid('u')}`;
    const other = `user:${uid('u')}`;
    const customer = uid('cus');
    await store().linkCustomer({ account_id: owner, kind: 'user', customer_id: customer });
    expect(await store().linkCustomer({ account_id: other, kind: 'user', customer_id: customer })).toBeNull();
    const applied = await store().applyEvent({ event: event(uid('evt')), link: { account_id: other, kind: 'user', customer_id: customer } });
    expect(applied.duplicate).toBe(false);
    expect((await store().getAccount(owner)).account?.stripe_customer_id).toBe(customer);
    expect((await store().getAccount(other)).account).toBeNull();
  });

  it('records an event once; a redelivery is a duplicate with no effect', async () => {
    const customer = uid('cus');
    const id = uid('evt');
    const first = await store().applyEvent({ event: event(id), subscriptions: [snap({ id: uid('sub'), customer_id: customer })] });
    expect(first).toEqual({ duplicate: false, applied: 1 });
    const again = await store().applyEvent({ event: event(id), subscriptions: [snap({ id: uid('sub'), customer_id: customer, snapshot_at: 2000 })] });
    expect(again).toEqual({ duplicate: true, applied: 0 });
  });

  it('two copies of one event at the same moment: exactly one applies', async () => {
    const id = uid('evt');
    const customer = uid('cus');
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) => store().applyEvent({ event: event(id), subscriptions: [snap({ id: `${customer}_s${i}`, customer_id: customer })] })),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    const rows = await stack.sql`select id from billing_subscriptions where customer_id = ${customer}`;
    expect(rows).toHaveLength(1);
  });

  it('never replaces a snapshot with one read earlier', async () => {
    const account = `user:${uid('u')}`;
    const customer = uid('cus');
    await store().linkCustomer({ account_id: account, kind: 'user', customer_id: customer });
    const id = uid('sub');
    await store().applyEvent({ event: null, subscriptions: [snap({ id, customer_id: customer, status: 'canceled', snapshot_at: 5000 })] });
    const stale = await store().applyEvent({ event: null, subscriptions: [snap({ id, customer_id: customer, status: 'active', snapshot_at: 4000 })] });
    expect(stale.applied).toBe(0);
    expect((await store().getAccount(account)).subscriptions[0]!.status).toBe('canceled');
    const same = await store().applyEvent({ event: null, subscriptions: [snap({ id, customer_id: customer, status: 'canceled', snapshot_at: 6000 })] });
    expect(same.applied).toBe(0); // newer but identical: nothing a reader sees changed
  });

  it('a subscription stored before its account is linked shows once the link comes', async () => {
    const account = `org:${uid('o')}`;
    const customer = uid('cus');
    await store().applyEvent({ event: event(uid('evt')), subscriptions: [snap({ id: uid('sub'), customer_id: customer })] });
    expect((await store().getAccount(account)).subscriptions).toHaveLength(0);
    await store().applyEvent({ event: event(uid('evt')), link: { account_id: account, kind: 'organization', customer_id: customer } });
    const view = await store().getAccount(account);
    expect(view.subscriptions.map((s) => s.customer_id)).toEqual([customer]);
  });

  it('lists every known customer for reconcile, linked or not', async () => {
    const linked = uid('cus');
    const loose = uid('cus');
    const account = `user:${uid('u')}`;
    await store().linkCustomer({ account_id: account, kind: 'user', customer_id: linked });
    await store().applyEvent({ event: null, subscriptions: [snap({ id: uid('sub'), customer_id: loose })] });
    const all = await store().listCustomers();
    expect(all).toContainEqual({ customer_id: linked, account_id: account });
    expect(all).toContainEqual({ customer_id: loose, account_id: null });
  });
});

it('supabase-js really went through rpc', () => {
  expect(both.calls).toContain('billing_apply_event');
  expect(both.calls).toContain('billing_link_customer');
});

it('supabase that never answers: unavailable once the store\'s deadline passes, not left to hang', async () => {
  // A server that accepts the request and never answers; fetch gives up only when told to.
  const silent = ((_: unknown, init?: RequestInit) =>
    new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch;
  const store = createStore(parseConfig({ SUPABASE_URL: 'http://supabase.local', SUPABASE_SERVICE_ROLE_KEY: 'k' }), silent);
  const started = performance.now();
  await expect(store.getAccount('user:x')).rejects.toMatchObject({ name: 'UnavailableError', dependency: 'Database' });
  expect(performance.now() - started).toBeGreaterThanOrEqual(QUERY_TIMEOUT_MS - 50);
  expect(performance.now() - started).toBeLessThan(QUERY_TIMEOUT_MS + 2_000);
}, QUERY_TIMEOUT_MS + 5_000);

it('supabase unreachable is reported as the database being unavailable', async () => {
  const down = createStore(parseConfig({ SUPABASE_URL: 'http://127.0.0.1:1', SUPABASE_SERVICE_ROLE_KEY: 'k' }));
  await expect(down.getAccount('user:x')).rejects.toMatchObject({ name: 'UnavailableError', dependency: 'Database' });
});
