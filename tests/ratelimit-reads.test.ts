/**
 * A request the rate limiter refuses costs the database nothing: once a warm instance knows a
 * caller is out of room, its requests are refused before any read (and, from the limiter's
 * memory, before any Redis call). A caller with room still gets its read beside the limiter:
 * one round trip for both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../dev/tcp-proxy.ts';
import subscription from '../functions/subscription.ts';
import { call, startStack, tokenFor, uid, type Stack } from './helpers/stack.ts';

let stack: Stack;
let pg: TcpProxy;
let reads = 0;
beforeAll(async () => {
  stack = await startStack({ RATE_LIMIT_USER: '5/1m' });
  const direct = new URL(stack.databaseUrl);
  pg = await startTcpProxy({ target: { host: direct.hostname, port: Number(direct.port) } });
  stack.setEnv({ DATABASE_URL: pg.rewriteUrl(stack.databaseUrl) });
  pg.watch((c) => {
    // postgres.js may pipeline several queries in one chunk: count each.
    if (c.direction === 'up') reads += c.text.split('billing_get_account(').length - 1;
  });
});
afterAll(async () => {
  await pg.close();
  await stack.stop();
});

const get = (token: string) => call(subscription, 'GET', '/api/stripe/subscription', { token });

describe('rate-limited requests and the database', () => {
  it('30 refused requests, one after another and at once, cause no database read', async () => {
    const token = await tokenFor({ sub: uid('u') });
    for (let i = 0; i < 5; i++) expect((await get(token)).status).toBe(200);
    expect(reads).toBeGreaterThanOrEqual(5);

    const before = reads;
    const redisBefore = stack.bridge.stats.requests;
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) statuses.push((await get(token)).status);
    statuses.push(...(await Promise.all(Array.from({ length: 15 }, () => get(token)))).map((r) => r.status));
    expect(statuses).toEqual(Array(30).fill(429));
    expect(reads - before).toBe(0);
    // Known refused: answered from memory, Redis not asked again.
    expect(stack.bridge.stats.requests - redisBefore).toBeLessThanOrEqual(1);
  });

  it('a burst that runs out of room reads only for the requests allowed', async () => {
    const token = await tokenFor({ sub: uid('u') });
    expect((await get(token)).status).toBe(200); // the instance now knows: 4 left
    const before = reads;
    const statuses = (await Promise.all(Array.from({ length: 20 }, () => get(token)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(reads - before).toBe(4);
  });

  it('a caller with room still reads beside the limiter: the read is sent before Redis answers', async () => {
    const token = await tokenFor({ sub: uid('u') });
    expect((await get(token)).status).toBe(200);
    const answered = () => stack.bridge.stats.log.filter((e) => e.status !== 0).length;
    let answeredWhenRead: number | undefined;
    const stopWatching = pg.watch((c) => {
      if (c.direction === 'up' && c.text.includes('billing_get_account(')) answeredWhenRead ??= answered();
    });
    stack.bridge.faults.setDelay(200); // Redis answers late: a read that waited for it would come after
    try {
      const before = answered();
      expect((await get(token)).status).toBe(200);
      expect(answeredWhenRead).toBe(before);
      expect(answered()).toBe(before + 1);
    } finally {
      stack.bridge.faults.setDelay(0);
      stopWatching();
    }
  });
});
