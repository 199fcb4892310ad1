/**
 * The bridge's fault switches, seen from the real clients: @upstash/redis for the switches
 * themselves, and @upstash/ratelimit on the client the app runs it on (createUpstashClient,
 * shared/upstash.ts) for what the limiters do under them.
 */
import { randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { requestsSince, startStack, type Stack } from "./stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});
afterEach(() => {
  stack.bridge.faults.setDown(false);
  stack.bridge.faults.setDelay(0);
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function elapsed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

describe("faults.setDown", () => {
  it("makes requests fail with a network error, and recovers when lifted", async () => {
    const redis = stack.client();
    await redis.set("f:k", "v"); // leaves a keep-alive connection open
    const before = stack.bridge.stats.requests;
    stack.bridge.faults.setDown(true);
    await expect(redis.get("f:k")).rejects.toThrow(/fetch failed/);
    expect(stack.bridge.stats.requests).toBe(before);
    stack.bridge.faults.setDown(false);
    expect(await redis.get("f:k")).toBe("v");
  });

  it("drops a request held by a delay without running it", async () => {
    const redis = stack.client();
    stack.bridge.faults.setDelay(300);
    const pending = redis.set("f:dropped", "1");
    await sleep(100);
    stack.bridge.faults.setDown(true);
    await expect(pending).rejects.toThrow(/fetch failed/);
    stack.bridge.faults.setDown(false);
    stack.bridge.faults.setDelay(0);
    await sleep(300);
    expect(await redis.get("f:dropped")).toBeNull();
  });

  it("is ridden out by the client's own retries when the outage is short", async () => {
    const redis = stack.client({ retry: { retries: 5, backoff: () => 50 } });
    stack.bridge.faults.setDown(true);
    const pending = redis.incr("f:retried");
    await sleep(120);
    stack.bridge.faults.setDown(false);
    expect(await pending).toBe(1);
  });

  it("makes Ratelimit.limit reject when the error comes before its timeout", async () => {
    const limiter = new Ratelimit({ redis: stack.limiterClient(), limiter: Ratelimit.fixedWindow(10, "1 m"), prefix: "rl:f" });
    stack.bridge.faults.setDown(true);
    await expect(limiter.limit(`u-${randomUUID()}`)).rejects.toThrow(/ECONNRESET|socket hang up/);
  });
});

describe("faults.setDelay", () => {
  it("adds the delay to every HTTP request", async () => {
    const redis = stack.client();
    await redis.set("d:k", "v");
    stack.bridge.faults.setDelay(200);
    const { ms, value } = await elapsed(() => redis.get("d:k"));
    expect(value).toBe("v");
    expect(ms).toBeGreaterThanOrEqual(195);
  });

  it("shows the two-limiter check is one round trip", async () => {
    const redis = stack.limiterClient();
    const user = new Ratelimit({ redis, limiter: Ratelimit.slidingWindow(100, "1 m"), prefix: "rl:user" });
    const org = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(1000, "1 h"), prefix: "rl:org" });
    const check = () => Promise.all([user.limit(`u-${randomUUID()}`), org.limit(`o-${randomUUID()}`)]);
    await check(); // loads the scripts
    stack.bridge.faults.setDelay(250);
    const from = stack.bridge.stats.log.length;
    const { ms, value } = await elapsed(check);
    expect(value.map((r) => r.success)).toEqual([true, true]);
    expect(requestsSince(stack.bridge, from)).toEqual([["EVALSHA", "EVALSHA"]]);
    expect(ms).toBeGreaterThanOrEqual(245);
    expect(ms).toBeLessThan(500);
  });

  it("lets Ratelimit's timeout fail open when the bridge is slower than it", async () => {
    const limiter = new Ratelimit({
      redis: stack.limiterClient(),
      limiter: Ratelimit.fixedWindow(10, "1 m"),
      prefix: "rl:slow",
      timeout: 50,
    });
    stack.bridge.faults.setDelay(300);
    const result = await limiter.limit(`u-${randomUUID()}`);
    expect(result).toMatchObject({ success: true, reason: "timeout", limit: 0, remaining: 0 });
    await sleep(350); // let the abandoned request finish before the next test
  });
});
