/**
 * Stripe answering 500 or 429, timing out (beyond STRIPE_TIMEOUT_MS, set low here),
 * resetting connections, or doing the work and losing the answer (a TCP proxy between the
 * SDK and the double cuts the response). For every endpoint that calls Stripe:
 * - checkout and portal answer 500 "Payment provider error" (never Stripe's message) and
 *   leave nothing half-written (no customer link without its customer); a retry works and
 *   makes no second customer or session;
 * - webhooks answer 5xx, are not recorded, and apply when Stripe retries them;
 * - the usage reporter keeps usage pending and reports all of it, once, when Stripe is back;
 * - what never calls Stripe (GET subscription, GET usage, POST usage) does not notice.
 * The file ends by comparing everything with Stripe's side.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../dev/tcp-proxy.ts';
import type { FaultSpec } from '../../dev/stripe-double/index.ts';
import checkout from '../../functions/checkout.ts';
import portal from '../../functions/portal.ts';
import subscription from '../../functions/subscription.ts';
import usage from '../../functions/usage.ts';
import { call, tokenFor, uid, type Call, type Stack } from '../helpers/stack.ts';
import { insideOneCheckoutWindow } from '../helpers/stripe.ts';
import {
  checkedOut, customersOf, expectError, expectLedgerMatchesStripe, expectLinksAreRealCustomers, expectSubscriptionsMatchStripe, linkedAccount,
  loseAnswers, meterTotal, minute, postUsage, recordUsage, report, reportAll, sessionIdOf, signedWebhook, startFaultStack,
  type FaultStack, type StripeSide,
} from './helpers.ts';

let f: FaultStack;
let stack: Stack;
let s: StripeSide;
/** Between the app's SDK and the double. */
let api: TcpProxy;
let member: { token: string; customer: string };

const TIMEOUT_MS = 300;

beforeAll(async () => {
  f = await startFaultStack({ STRIPE_TIMEOUT_MS: String(TIMEOUT_MS) });
  ({ stack, s } = f);
  api = await startTcpProxy({ target: { port: s.double.port } });
  stack.setEnv({ STRIPE_API_BASE: `http://127.0.0.1:${api.port}` });
  member = await checkedOut(s);
});
afterEach(async () => {
  s.double.faults.clear();
  api.disarm();
  await api.setDown(false);
});
afterAll(async () => {
  await api.close();
  await f.stop();
});

const FAULTS: Array<{ name: string; spec: Omit<FaultSpec, 'method' | 'path'> }> = [
  { name: '500', spec: { status: 500 } },
  { name: '429', spec: { status: 429 } },
  { name: 'timeout', spec: { status: 500, delayMs: TIMEOUT_MS * 3 } },
  // stripe-node 23 retries a closed connection once even with retries off (with an
  // idempotency key on POSTs): a lasting reset is two in a row.
  { name: 'connection reset', spec: { status: 500, reset: true, times: 2 } },
];

/** A 500 that says only "Payment provider error": nothing of Stripe's answer gets through. */
function expectProviderError(res: Call, path: string) {
  expectError(res, path, 500, 'INTERNAL_ERROR', /^Payment provider error$/);
  expect(res.text).not.toMatch(/Injected|rate limit|stripe\.com|timeout|ECONN|socket/i);
}

const linkOf = async (account: string) =>
  (await stack.sql<{ stripe_customer_id: string | null }[]>`select stripe_customer_id from billing_accounts where id = ${account}`)[0]?.stripe_customer_id ?? null;

describe('POST checkout', () => {
  for (const fault of FAULTS) {
    for (const [step, path] of [['creating the customer', /^\/v1\/customers$/], ['creating the session', /^\/v1\/checkout\/sessions$/]] as const) {
      it(`Stripe ${fault.name} while ${step}: 500, nothing half-written; the retry makes one customer`, async () => {
        const user = uid('u');
        const account = `user:${user}`;
        const token = await tokenFor({ sub: user, email: `${user}@example.com` });
        const where = step === 'creating the customer' ? '/api/stripe/checkout' : '/api/billing/checkout';
        s.double.faults.inject({ method: 'POST', path, ...fault.spec });
        const started = performance.now();
        expectProviderError(await call(checkout, 'POST', where, { token }), where);
        expect(performance.now() - started).toBeLessThan(TIMEOUT_MS * 3);
        if (step === 'creating the customer') {
          expect(await linkOf(account)).toBeNull();
          expect(customersOf(s, account)).toHaveLength(0);
        } else {
          // The customer exists and is linked; only the session is missing.
          expect(customersOf(s, account).map((c) => c.id)).toEqual([await linkOf(account)]);
        }
        const retry = await call(checkout, 'POST', where, { token });
        expect(retry.status, retry.text).toBe(200);
        const customers = customersOf(s, account);
        expect(customers).toHaveLength(1);
        expect(await linkOf(account)).toBe(customers[0]!.id);
        expect(s.double.state.sessions.get(sessionIdOf(where.includes('billing') ? retry.body.data.url : retry.body.url))?.customer).toBe(customers[0]!.id);
      });
    }
  }

  it('one reset or one lost answer is absorbed: the SDK retries once with its idempotency key; one customer, one session', async () => {
    const user = uid('u');
    const account = `user:${user}`;
    const token = await tokenFor({ sub: user });
    s.double.faults.inject({ method: 'POST', path: /^\/v1\/customers$/, status: 500, reset: true });
    const lost = loseAnswers(api, 'POST', /^\/v1\/checkout\/sessions$/, 1);
    const res = await call(checkout, 'POST', '/api/stripe/checkout', { token });
    await lost;
    expect(res.status, res.text).toBe(200);
    expect(customersOf(s, account)).toHaveLength(1);
    expect(await linkOf(account)).toBe(customersOf(s, account)[0]!.id);
    expect([...s.double.state.sessions.values()].filter((x) => x.client_reference_id === account)).toHaveLength(1);
  });

  it('Stripe creates the customer but both answers are lost: 500, no link; the retry gets the same customer (our idempotency key)', async () => {
    const user = uid('u');
    const account = `user:${user}`;
    const token = await tokenFor({ sub: user });
    const lost = loseAnswers(api, 'POST', /^\/v1\/customers$/, 2);
    expectProviderError(await call(checkout, 'POST', '/api/stripe/checkout', { token }), '/api/stripe/checkout');
    await lost;
    expect(customersOf(s, account)).toHaveLength(1); // Stripe did it
    expect(await linkOf(account)).toBeNull(); // we never heard
    expect((await call(checkout, 'POST', '/api/stripe/checkout', { token })).status).toBe(200);
    expect(customersOf(s, account)).toHaveLength(1);
    expect(await linkOf(account)).toBe(customersOf(s, account)[0]!.id);
  });

  it('Stripe creates the session but both answers are lost: 500; the retry answers the same session, not a second one', async () => {
    const user = uid('u');
    const account = `user:${user}`;
    const token = await tokenFor({ sub: user });
    const sessionsOf = () => [...s.double.state.sessions.values()].filter((x) => x.client_reference_id === account);
    await insideOneCheckoutWindow();
    const lost = loseAnswers(api, 'POST', /^\/v1\/checkout\/sessions$/, 2);
    expectProviderError(await call(checkout, 'POST', '/api/stripe/checkout', { token }), '/api/stripe/checkout');
    await lost;
    expect(sessionsOf()).toHaveLength(1);
    const retry = await call(checkout, 'POST', '/api/stripe/checkout', { token });
    expect(retry.status).toBe(200);
    expect(sessionsOf().map((x) => x.id)).toEqual([sessionIdOf(retry.body.url)]);
  });
});

describe('POST portal', () => {
  for (const fault of FAULTS) {
    it(`Stripe ${fault.name}: 500 "Payment provider error"; the retry opens it`, async () => {
      const portalsBefore = s.double.state.portalSessions.size;
      s.double.faults.inject({ method: 'POST', path: /^\/v1\/billing_portal\/sessions$/, ...fault.spec });
      expectProviderError(await call(portal, 'POST', '/api/billing/portal', { token: member.token }), '/api/billing/portal');
      expect(s.double.state.portalSessions.size).toBe(portalsBefore);
      const retry = await call(portal, 'POST', '/api/stripe/portal', { token: member.token });
      expect(retry.status).toBe(200);
      expect(retry.body.url).toMatch(/\/p\/session\/bps_/);
    });
  }
});

describe('POST webhook', () => {
  for (const fault of FAULTS) {
    it(`Stripe ${fault.name} while reading the subscription: 5xx, not recorded; Stripe's retry applies it`, async () => {
      const c = await checkedOut(s, { deliver: false });
      const event = c.eventOf('checkout.session.completed');
      s.double.faults.inject({ method: 'GET', path: /^\/v1\/subscriptions\//, ...fault.spec });
      const res = await signedWebhook(s, event);
      expectProviderError(res, '/api/stripe/webhook');
      expect(await stack.sql`select 1 from billing_stripe_events where id = ${event.id}`).toHaveLength(0);
      expect(await stack.sql`select 1 from billing_subscriptions where id = ${c.sub}`).toHaveLength(0);
      expect((await signedWebhook(s, event)).body).toEqual({ received: true });
      expect((await call(subscription, 'GET', '/api/stripe/subscription', { token: c.token })).body.state).toBe('active');
      // The other events of the checkout, as Stripe delivers them: same state as Stripe.
      for (const e of c.done.events) expect((await signedWebhook(s, e)).status).toBe(200);
      await expectSubscriptionsMatchStripe(stack, s, [c.customer]);
    });
  }
});

describe('Stripe unreachable', () => {
  it('what never calls Stripe still works; what does answers 500 (webhooks 5xx); all recover', async () => {
    const c = await checkedOut(s, { deliver: false });
    const account = `org:${uid('org')}`;
    await api.setDown(true, 'refuse');
    expect((await call(subscription, 'GET', '/api/stripe/subscription', { token: member.token })).body.state).toBe('active');
    expect((await call(usage, 'GET', '/api/stripe/usage', { token: member.token })).status).toBe(200);
    const withStripe = await call(usage, 'GET', '/api/billing/usage?source=stripe', { token: member.token });
    expect(withStripe.status).toBe(200);
    expect(withStripe.body.data.stripe).toMatchObject({ aggregatedValue: null, error: 'Stripe could not be read; try again shortly' });
    expect((await postUsage({ accountId: account, quantity: 3, idempotencyKey: 'k' })).status).toBe(200);
    expectProviderError(await call(checkout, 'POST', '/api/stripe/checkout', { token: await tokenFor({ sub: uid('u') }) }), '/api/stripe/checkout');
    expectProviderError(await call(portal, 'POST', '/api/stripe/portal', { token: member.token }), '/api/stripe/portal');
    const event = c.eventOf('checkout.session.completed');
    expectProviderError(await signedWebhook(s, event), '/api/stripe/webhook');
    expect(await stack.sql`select 1 from billing_stripe_events where id = ${event.id}`).toHaveLength(0);

    await api.setDown(false);
    for (const e of c.done.events) expect((await signedWebhook(s, e)).status).toBe(200);
    await expectSubscriptionsMatchStripe(stack, s, [c.customer]);
    expect((await call(portal, 'POST', '/api/stripe/portal', { token: c.token })).status).toBe(200);
  });
});

describe('the usage reporter', () => {
  const pendingOf = async (id: string) => (await call(usage, 'GET', '/api/stripe/usage', { token: await tokenFor({ sub: id }) })).body;

  for (const fault of FAULTS) {
    it(`Stripe ${fault.name} on every meter event: all usage stays pending; back: all of it reported once`, async () => {
      const a = await linkedAccount(s);
      const b = await linkedAccount(s);
      await recordUsage([
        { accountId: a.accountId, quantity: 4, timestamp: minute(6) + 1 },
        { accountId: a.accountId, quantity: 5, timestamp: minute(5) + 1 },
        { accountId: b.accountId, quantity: 6, timestamp: minute(6) + 2 },
      ]);
      s.double.faults.inject({ method: 'POST', path: /^\/v1\/billing\/meter_events$/, ...fault.spec, times: 1000 });
      const down = await report({ attempts: 2, breakerThreshold: 2, concurrency: 1 });
      expect(down).toMatchObject({ reported: 0, failed: 0, stopped: 'stripe_unavailable' });
      expect(down.claimed).toBeGreaterThan(0);
      expect(down.deferred).toBe(down.claimed);
      expect(await pendingOf(a.id)).toMatchObject({ recorded: 9, reported: 0, pending: 9, failed: 0 });
      expect(await meterTotal(s, a.customer)).toBe(0);

      s.double.faults.clear();
      const runs = await reportAll();
      expect(runs.reduce((n, r) => n + r.reported, 0)).toBe(3);
      expect(runs.reduce((n, r) => n + r.failed, 0)).toBe(0);
      expect(await pendingOf(a.id)).toMatchObject({ recorded: 9, reported: 9, pending: 0 });
      expect(await meterTotal(s, a.customer)).toBe(9);
      expect(await meterTotal(s, b.customer)).toBe(6);
    });
  }

  it('Stripe records the meter event but the answers are lost: the re-send is a duplicate at Stripe, counted once', async () => {
    const a = await linkedAccount(s, 'organization');
    const events = () => s.double.state.meterEvents.filter((e) => e.payload.stripe_customer_id === a.customer).map((e) => e.identifier);
    await recordUsage([{ accountId: a.accountId, quantity: 11, timestamp: minute(4) + 3 }]);
    // Both answers of one send lost (the SDK retries a closed connection once); the
    // reporter's next try within the run is refused as a duplicate identifier: delivered.
    let lost = loseAnswers(api, 'POST', /^\/v1\/billing\/meter_events$/, 2);
    expect(await report({ attempts: 3 })).toMatchObject({ reported: 1, duplicates: 1, stripeCalls: 2 });
    await lost;
    expect(await meterTotal(s, a.customer)).toBe(11);

    // The same across runs: given back after its only try, sent again by the next run.
    await recordUsage([{ accountId: a.accountId, quantity: 7, timestamp: minute(3) + 3 }]);
    lost = loseAnswers(api, 'POST', /^\/v1\/billing\/meter_events$/, 2);
    expect(await report({ attempts: 1 })).toMatchObject({ reported: 0, deferred: 1 });
    await lost;
    expect(await meterTotal(s, a.customer)).toBe(18); // Stripe has it; our ledger says pending
    expect(await report()).toMatchObject({ reported: 1, duplicates: 1 });
    expect(new Set(events()).size).toBe(2);
    expect(events()).toHaveLength(2);
  });
});

describe('in the end', () => {
  it('our subscriptions equal Stripe\'s, every link is a real customer, and the ledger equals the meter summaries', async () => {
    await reportAll();
    await expectSubscriptionsMatchStripe(stack, s);
    await expectLinksAreRealCustomers(stack, s);
    await expectLedgerMatchesStripe(stack, s);
  });
});
