import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import subscription from '../functions/subscription.ts';
import { call, startStack, tokenFor, uid, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.stop());

const get = async (token: string, path = '/api/stripe/subscription') => call(subscription, 'GET', path, { token });

// Redis down or slow (fail open, RATE_LIMIT_FAIL_CLOSED) for every user endpoint in both
// dialects: tests/faults/redis.test.ts.
describe('rate limits', () => {
  it('refuses the 101st request in a minute with 429 and the limit headers', async () => {
    const token = await tokenFor({ sub: uid('u') });
    for (let i = 0; i < 100; i++) {
      const res = await get(token);
      expect(res.status, `request ${i + 1}`).toBe(200);
      if (i === 0) {
        expect(res.headers.get('x-ratelimit-limit')).toBe('100');
        expect(res.headers.get('x-ratelimit-remaining')).toBe('99');
      }
    }
    for (const path of ['/api/stripe/subscription', '/api/billing/subscription']) {
      const refused = await get(token, path);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('x-ratelimit-limit')).toBe('100');
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
      if (path.startsWith('/api/billing')) expect(refused.body.error.code).toBe('RATE_LIMITED');
      else expect(refused.body.code).toBe('RATE_LIMITED');
    }
    // Another user is not affected.
    expect((await get(await tokenFor({ sub: uid('u') }))).status).toBe(200);
  });

  it('the organization limit is shared across its users', async () => {
    stack.setEnv({ RATE_LIMIT_ORG: '5/1h' });
    try {
      const org = uid('org');
      const users = await Promise.all([1, 2, 3].map(() => tokenFor({ sub: uid('u'), org })));
      // The organization's window is a fixed hour: in its last 90 s it would reset mid-test
      // (and Retry-After be short), so start in the next one.
      const leftMs = 3_600_000 - (Date.now() % 3_600_000);
      if (leftMs < 90_000) await new Promise((r) => setTimeout(r, leftMs + 100));
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await get(users[i % 3]!)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      const refused = await get(users[0]!);
      expect(refused.headers.get('x-ratelimit-limit')).toBe('5');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60);
      // A user of another organization still goes through.
      expect((await get(await tokenFor({ sub: uid('u'), org: uid('org') }))).status).toBe(200);
    } finally {
      stack.setEnv({ RATE_LIMIT_ORG: undefined });
    }
  }, 150_000);

  it('checks both limits in one request to Redis', async () => {
    const token = await tokenFor({ sub: uid('u'), org: uid('org') });
    await get(token); // scripts loaded
    const before = stack.bridge.stats.requests;
    await get(token);
    expect(stack.bridge.stats.requests - before).toBe(1);
  });
});
