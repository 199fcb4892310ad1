/**
 * The real @upstash/ratelimit (2.2, Lua scripts with `#!lua flags=allow-key-locking`) on
 * the client the app runs it on (createUpstashClient, shared/upstash.ts), through the
 * bridge: the project's two limiters, checked together as shared/ratelimit.ts does.
 */
import { randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { LimiterRedis } from "../../shared/upstash.ts";
import { requestsSince, startStack, type Stack } from "./stack.ts";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
});

function limiters(redis: LimiterRedis, orgRedis: LimiterRedis = redis): { user: Ratelimit; org: Ratelimit } {
  return {
    user: new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(100, "1 m"), prefix: "rl:user" }),
    org: new Ratelimit({ redis: orgRedis, limiter: Ratelimit.fixedWindow(1000, "1 h"), prefix: "rl:org" }),
  };
}

/** Pins Date.now in the middle of a minute, so a sliding window cannot roll over mid-test. */
function pinClock(): number {
  const now = Math.floor(Date.now() / MINUTE) * MINUTE + 30_000;
  vi.spyOn(Date, "now").mockReturnValue(now);
  return now;
}

describe("@upstash/ratelimit on our Upstash client, through the bridge", () => {
  it("refuses the 101st request in the window with the right remaining and reset", async () => {
    const now = pinClock();
    const { user, org } = limiters(stack.limiterClient());
    const userId = `u-${randomUUID()}`;
    const orgId = `o-${randomUUID()}`;
    const check = () => Promise.all([user.limit(userId), org.limit(orgId)]);

    for (let i = 1; i <= 100; i++) {
      const [u, o] = await check();
      expect({ u: [u.success, u.remaining], o: [o.success, o.remaining] }).toEqual({
        u: [true, 100 - i],
        o: [true, 1000 - i],
      });
    }
    const [u, o] = await check();
    expect(u).toMatchObject({ success: false, limit: 100, remaining: 0, reset: (Math.floor(now / MINUTE) + 1) * MINUTE });
    expect(o).toMatchObject({ success: true, limit: 1000, remaining: 899, reset: (Math.floor(now / HOUR) + 1) * HOUR });
    expect(u.reason).toBeUndefined();

    // The refusal is cached in memory: the next check of that user costs no Redis command.
    const from = stack.bridge.stats.log.length;
    const [u2, o2] = await check();
    expect(u2).toMatchObject({ success: false, remaining: 0, reason: "cacheBlock" });
    expect(o2).toMatchObject({ success: true, remaining: 898 });
    expect(requestsSince(stack.bridge, from)).toEqual([["EVALSHA"]]);
  });

  it("checks both limiters in one HTTP request once the scripts are loaded", async () => {
    pinClock();
    const { user, org } = limiters(stack.limiterClient());
    const check = () => Promise.all([user.limit(`u-${randomUUID()}`), org.limit(`o-${randomUUID()}`)]);
    await check(); // the scripts may already be in Redis from the previous test
    const from = stack.bridge.stats.log.length;
    for (let i = 0; i < 5; i++) await check();
    expect(requestsSince(stack.bridge, from)).toEqual(Array(5).fill(["EVALSHA", "EVALSHA"]));
  });

  it("on a fresh Redis the first check costs two requests: EVALSHA (NOSCRIPT) then EVAL", async () => {
    pinClock();
    const fresh = await startStack();
    try {
      const { user, org } = limiters(fresh.limiterClient());
      const check = () => Promise.all([user.limit(`u-${randomUUID()}`), org.limit(`o-${randomUUID()}`)]);
      const results = await check();
      expect(results.map((r) => [r.success, r.remaining])).toEqual([[true, 99], [true, 999]]);
      await check();
      expect(requestsSince(fresh.bridge, 0)).toEqual([
        ["EVALSHA", "EVALSHA"],
        ["EVAL", "EVAL"],
        ["EVALSHA", "EVALSHA"],
      ]);
    } finally {
      await fresh.stop();
    }
  });

  it("costs one request per limiter when they are awaited one after the other or use two clients (each batches only its own commands)", async () => {
    pinClock();
    const shared = limiters(stack.limiterClient());
    await Promise.all([shared.user.limit("warm"), shared.org.limit("warm")]);

    let from = stack.bridge.stats.log.length;
    await shared.user.limit(`u-${randomUUID()}`);
    await shared.org.limit(`o-${randomUUID()}`);
    expect(requestsSince(stack.bridge, from)).toEqual([["EVALSHA"], ["EVALSHA"]]);

    const split = limiters(stack.limiterClient(), stack.limiterClient());
    from = stack.bridge.stats.log.length;
    await Promise.all([split.user.limit(`u-${randomUUID()}`), split.org.limit(`o-${randomUUID()}`)]);
    expect(requestsSince(stack.bridge, from)).toEqual([["EVALSHA"], ["EVALSHA"]]);
  });
});
