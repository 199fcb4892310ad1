/**
 * Redis (the rate limiter's store, through the Upstash bridge) down or slow, for every
 * endpoint: user endpoints fail open with a logged warning, or answer 503 in their dialect
 * with RATE_LIMIT_FAIL_CLOSED; the webhook and usage POST are not rate limited and simply work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../../functions/checkout.ts';
import portal from '../../functions/portal.ts';
import subscription from '../../functions/subscription.ts';
import usage from '../../functions/usage.ts';
import type { Handler } from '../../shared/endpoint.ts';
import { call, tokenFor, uid, type Call, type Stack } from '../helpers/stack.ts';
import {
  captureWarnings, checkedOut, expectError, expectSubscriptionsMatchStripe, postUsage, sessionIdOf, startFaultStack,
  signedWebhook, type FaultStack, type StripeSide,
} from './helpers.ts';

let f: FaultStack;
let stack: Stack;
let s: StripeSide;
/** A subscribed user, for portal (which needs a subscription) and the reads. */
let member: { token: string; account: string };

beforeAll(async () => {
  f = await startFaultStack();
  ({ stack, s } = f);
  const c = await checkedOut(s);
  member = { token: c.token, account: c.account };
});
afterEach(() => {
  stack.bridge.faults.setDown(false);
  stack.bridge.faults.setDelay(0);
  stack.setEnv({ RATE_LIMIT_FAIL_CLOSED: undefined, RATE_LIMIT_TIMEOUT_MS: undefined });
});
afterAll(() => f.stop());

interface UserEndpoint {
  name: string;
  handler: Handler;
  method: 'GET' | 'POST';
  path: string;
  /** A token for the call: checkout needs an account that is not subscribed yet. */
  token(): Promise<string>;
}

const USER_ENDPOINTS: UserEndpoint[] = [
  { name: 'GET subscription', handler: subscription, method: 'GET', path: 'subscription', token: async () => member.token },
  { name: 'GET usage', handler: usage, method: 'GET', path: 'usage', token: async () => member.token },
  { name: 'POST checkout', handler: checkout, method: 'POST', path: 'checkout', token: () => tokenFor({ sub: uid('u') }) },
  { name: 'POST portal', handler: portal, method: 'POST', path: 'portal', token: async () => member.token },
];
const DIALECTS = ['stripe', 'billing'] as const;

async function hit(e: UserEndpoint, dialect: (typeof DIALECTS)[number], token?: string): Promise<Call> {
  return call(e.handler, e.method, `/api/${dialect}/${e.path}`, { token: token ?? (await e.token()) });
}

function expectOk(e: UserEndpoint, res: Call) {
  expect(res.status, `${e.name}: ${res.text}`).toBe(200);
  // The limiter did not answer, so no limit headers are claimed.
  expect(res.headers.get('x-ratelimit-limit'), e.name).toBeNull();
}

describe('Redis down', () => {
  it('fails open on every user endpoint, in both dialects, with a warning logged for each request', async () => {
    stack.bridge.faults.setDown(true);
    const logs = captureWarnings();
    try {
      for (const e of USER_ENDPOINTS) {
        for (const d of DIALECTS) expectOk(e, await hit(e, d));
      }
    } finally {
      logs.restore();
    }
    const warnings = logs.lines.filter((l) => l.event === 'ratelimit_unavailable');
    expect(warnings).toHaveLength(USER_ENDPOINTS.length * DIALECTS.length);
    for (const w of warnings) expect(w).toMatchObject({ level: 'warn', action: 'allowed', reason: expect.any(String) });
    expect(new Set(warnings.map((w) => w.function))).toEqual(new Set(['subscription', 'usage', 'checkout', 'portal']));
  });

  it('with RATE_LIMIT_FAIL_CLOSED: 503 SERVICE_UNAVAILABLE in the right dialect, Retry-After, and nothing written', async () => {
    stack.setEnv({ RATE_LIMIT_FAIL_CLOSED: 'true' });
    stack.bridge.faults.setDown(true);
    const customersBefore = s.double.state.customers.size;
    const sessionsBefore = s.double.state.sessions.size;
    const fresh = uid('u');
    const logs = captureWarnings();
    try {
      for (const e of USER_ENDPOINTS) {
        for (const d of DIALECTS) {
          const path = `/api/${d}/${e.path}`;
          const res = await hit(e, d, e.path === 'checkout' ? await tokenFor({ sub: fresh }) : undefined);
          expectError(res, path, 503, 'SERVICE_UNAVAILABLE', /try again/);
          expect(res.headers.get('retry-after')).toBe('5');
          expect(res.text).not.toMatch(/fetch failed|ECONN|stack/i);
        }
      }
    } finally {
      logs.restore();
    }
    expect(logs.lines.filter((l) => l.event === 'ratelimit_unavailable' && l.action === 'refused')).toHaveLength(USER_ENDPOINTS.length * DIALECTS.length);
    // Refused before the handler ran: no customer, no session, no account row.
    expect(s.double.state.customers.size).toBe(customersBefore);
    expect(s.double.state.sessions.size).toBe(sessionsBefore);
    expect(await stack.sql`select 1 from billing_accounts where id = ${`user:${fresh}`}`).toHaveLength(0);
  });

  it('webhooks and usage POST are not rate limited: they work with Redis down, even with RATE_LIMIT_FAIL_CLOSED', async () => {
    // Checkout itself is a user call: start it while Redis is up.
    const token = await tokenFor({ sub: uid('u') });
    const started = await call(checkout, 'POST', '/api/stripe/checkout', { token });
    expect(started.status).toBe(200);
    stack.setEnv({ RATE_LIMIT_FAIL_CLOSED: 'true' });
    stack.bridge.faults.setDown(true);

    const done = await s.double.actions.completeCheckout(sessionIdOf(started.body.url));
    // One delivery per event, each taken.
    expect(done.deliveries.map((d) => [d.eventId, d.status])).toEqual(done.events.map((e) => [e.id, 200]));
    await expectSubscriptionsMatchStripe(stack, s, [done.customer.id]);

    const account = `user:${uid('u')}`;
    for (const path of ['/api/stripe/usage', '/api/billing/usage']) {
      const res = await postUsage({ records: [{ accountId: account, quantity: 2, idempotencyKey: uid('k') }] }, { path });
      expect(res.status, res.text).toBe(200);
    }
    expect(await stack.sql`select sum(quantity)::int as n from billing_usage_records where account_id = ${account}`).toEqual([{ n: 4 }]);
  });

  it('recovers: once Redis is back, limits are enforced again with their headers', async () => {
    stack.bridge.faults.setDown(true);
    expectOk(USER_ENDPOINTS[0]!, await hit(USER_ENDPOINTS[0]!, 'stripe'));
    stack.bridge.faults.setDown(false);
    const res = await hit(USER_ENDPOINTS[0]!, 'stripe');
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('x-ratelimit-limit'))).toBe(100);
  });
});

describe('Redis slow (beyond RATE_LIMIT_TIMEOUT_MS)', () => {
  it('fails open on every user endpoint without waiting for Redis, with a timeout warning', async () => {
    stack.setEnv({ RATE_LIMIT_TIMEOUT_MS: '150' });
    stack.bridge.faults.setDelay(2000);
    const logs = captureWarnings();
    try {
      for (const e of USER_ENDPOINTS) {
        for (const d of DIALECTS) {
          const started = performance.now();
          const res = await hit(e, d);
          expectOk(e, res);
          // Stripe calls (checkout, portal) add their own time; Redis's 2 s is never waited for.
          expect(performance.now() - started, e.name).toBeLessThan(1500);
        }
      }
    } finally {
      logs.restore();
    }
    const warnings = logs.lines.filter((l) => l.event === 'ratelimit_unavailable');
    expect(warnings).toHaveLength(USER_ENDPOINTS.length * DIALECTS.length);
    for (const w of warnings) expect(w).toMatchObject({ reason: 'timeout', action: 'allowed' });
  });

  it('with RATE_LIMIT_FAIL_CLOSED: 503 in the right dialect after the timeout', async () => {
    stack.setEnv({ RATE_LIMIT_TIMEOUT_MS: '150', RATE_LIMIT_FAIL_CLOSED: 'true' });
    stack.bridge.faults.setDelay(2000);
    for (const e of USER_ENDPOINTS) {
      for (const d of DIALECTS) {
        const started = performance.now();
        const res = await hit(e, d);
        expectError(res, `/api/${d}/${e.path}`, 503, 'SERVICE_UNAVAILABLE');
        expect(performance.now() - started, e.name).toBeLessThan(1500);
      }
    }
  });

  it('webhooks and usage POST do not wait for a slow Redis', async () => {
    const c = await checkedOut(s, { deliver: false }); // checkout is a user call: before Redis slows down
    stack.setEnv({ RATE_LIMIT_FAIL_CLOSED: 'true' });
    stack.bridge.faults.setDelay(3000);
    const requestsBefore = stack.bridge.stats.requests;
    const started = performance.now();
    for (const e of c.done.events) expect((await signedWebhook(s, e)).status).toBe(200);
    const res = await postUsage({ accountId: `org:${uid('org')}`, quantity: 1, idempotencyKey: uid('k') });
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2500);
    // Neither even asked Redis (a slow bridge still counts the requests it receives).
    expect(stack.bridge.stats.requests).toBe(requestsBefore);
    await expectSubscriptionsMatchStripe(stack, s, [c.customer]);
  });
});
