/** shared/upstash.ts (the rate limiter's Upstash client) against the bridge over a real redis-server. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha1Hex } from "../../dev/redis/lua-scripts.ts";
import { UpstashError } from "../../shared/upstash.ts";
import { requestsSince, startStack, type Stack } from "./stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const COUNTER = `#!lua flags=allow-key-locking
  local n = redis.call("INCRBY", KEYS[1], ARGV[1])
  return {n, tonumber(ARGV[2])}
`;

describe("the rate limiter's Upstash client", () => {
  it("sends the commands of one turn in one pipeline request, each answered in order", async () => {
    const redis = stack.limiterClient();
    const from = stack.bridge.stats.log.length;
    const [a, b, c] = await Promise.all([
      redis.eval<[number, number], number[]>(COUNTER, ["lc:a"], [5, 7]),
      redis.eval<[number, number], number[]>(COUNTER, ["lc:b"], [2, 3]),
      redis.set("lc:s", { plan: "pro" }),
    ]);
    expect([a, b, c]).toEqual([[5, 7], [2, 3], "OK"]);
    expect(requestsSince(stack.bridge, from)).toEqual([["EVAL", "EVAL", "SET"]]);
    // Objects go as JSON and come back parsed, as @upstash/redis does it.
    expect(await redis.get("lc:s")).toEqual({ plan: "pro" });
    expect(await redis.get("lc:missing")).toBeNull();
  });

  it("EVALSHA of an unknown script rejects with NOSCRIPT (the limiter then sends EVAL); a loaded one runs", async () => {
    const redis = stack.limiterClient();
    const script = COUNTER.replace("ARGV[1]", "ARGV[1] + 0");
    await expect(redis.evalsha(sha1Hex(script), ["lc:c"], [1, 1])).rejects.toThrow(/NOSCRIPT/);
    await redis.eval(script, ["lc:c"], [1, 1]);
    expect(await redis.evalsha(sha1Hex(script), ["lc:c"], [1, 1])).toEqual([2, 1]);
  });

  it("a failing command rejects alone; the others of its request still answer", async () => {
    const redis = stack.limiterClient();
    const from = stack.bridge.stats.log.length;
    const [bad, good] = await Promise.allSettled([redis.eval("return redis.call('NOPE')", [], []), redis.eval("return 41 + 1", [], [])]);
    expect(bad.status).toBe("rejected");
    expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(UpstashError);
    expect(good).toEqual({ status: "fulfilled", value: 42 });
    expect(requestsSince(stack.bridge, from)).toEqual([["EVAL", "EVAL"]]);
  });

  it("a wrong token rejects with Upstash's error, not retried", async () => {
    const from = stack.bridge.stats.requests;
    await expect(stack.limiterClient({ token: "wrong" }).get("lc:x")).rejects.toThrow(/Unauthorized/);
    expect(stack.bridge.stats.requests - from).toBe(1);
  });

  it("Redis down: rejects after its retry, without hanging", async () => {
    stack.bridge.faults.setDown(true);
    try {
      const redis = stack.limiterClient({ retries: 1, retryDelayMs: 300 });
      const started = performance.now();
      await expect(redis.eval("return 1", [], [])).rejects.toThrow(/ECONNRESET|socket hang up/);
      const ms = performance.now() - started;
      expect(ms).toBeGreaterThanOrEqual(300);
      expect(ms).toBeLessThan(1000);
    } finally {
      stack.bridge.faults.setDown(false);
    }
  });

  it("gives up on a request left unanswered past its timeout", async () => {
    stack.bridge.faults.setDelay(2000);
    try {
      await expect(stack.limiterClient({ timeoutMs: 100 }).eval("return 1", [], [])).rejects.toThrow(/no answer from Upstash in 100 ms/);
    } finally {
      stack.bridge.faults.setDelay(0);
    }
  });
});
