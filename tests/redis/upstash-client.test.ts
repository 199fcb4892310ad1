/** The real @upstash/redis client against the bridge over a real redis-server. */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawCall, requestsSince, startStack, type Stack } from "./stack.ts";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const NON_ASCII = "héllo wörld 🌍 日本語 — ключ\u0000end";
const RATELIMIT_STYLE_SCRIPT = `#!lua flags=allow-key-locking
  local n = redis.call("INCRBY", KEYS[1], ARGV[1])
  return {n, tonumber(ARGV[2])}
`;

describe("@upstash/redis through the bridge", () => {
  it("runs get/set/incr/hset/hgetall with Upstash's value types", async () => {
    const redis = stack.client();
    expect(await redis.set("c:str", "plain")).toBe("OK");
    expect(await redis.get("c:str")).toBe("plain");
    expect(await redis.get("c:missing")).toBeNull();
    await redis.set("c:obj", { plan: "pro", seats: 3 });
    expect(await redis.get("c:obj")).toEqual({ plan: "pro", seats: 3 });
    expect(await redis.incr("c:n")).toBe(1);
    expect(await redis.incrby("c:n", 41)).toBe(42);
    expect(await redis.hset("c:h", { a: "x", b: 2 })).toBe(2);
    expect(await redis.hgetall("c:h")).toEqual({ a: "x", b: 2 });
    expect(await redis.hgetall("c:h-missing")).toBeNull();
  });

  it("round-trips non-ASCII text with and without base64 responses", async () => {
    const base64Client = stack.client();
    const textClient = stack.client({ responseEncoding: false });
    await base64Client.set("c:ключ:🔑", NON_ASCII);
    expect(await base64Client.get("c:ключ:🔑")).toBe(NON_ASCII);
    expect(await textClient.get("c:ключ:🔑")).toBe(NON_ASCII);
    await base64Client.hset("c:h:utf8", { "поле": NON_ASCII });
    expect(await textClient.hgetall("c:h:utf8")).toEqual({ "поле": NON_ASCII });
  });

  it("encodes the wire format as Upstash does", async () => {
    const b64 = { "upstash-encoding": "base64" };
    await rawCall(stack.bridge, "/", ["SET", "w:k", NON_ASCII]);
    expect(await rawCall(stack.bridge, "/", ["GET", "w:k"], b64)).toEqual({
      status: 200,
      json: { result: Buffer.from(NON_ASCII).toString("base64") },
    });
    expect((await rawCall(stack.bridge, "/", ["GET", "w:k"])).json).toEqual({ result: NON_ASCII });
    // "OK" stays plain, other status replies are encoded, integers and nil stay JSON.
    expect((await rawCall(stack.bridge, "/pipeline", [["SET", "w:n", "5"], ["PING"], ["INCR", "w:n"], ["GET", "w:none"]], b64)).json)
      .toEqual([{ result: "OK" }, { result: Buffer.from("PONG").toString("base64") }, { result: 6 }, { result: null }]);
    expect(await rawCall(stack.bridge, "/", ["HGET", "w:k", "f"])).toEqual({
      status: 400,
      json: { error: "WRONGTYPE Operation against a key holding the wrong kind of value" },
    });
    expect((await rawCall(stack.bridge, "/", "not json")).status).toBe(400);
    expect((await rawCall(stack.bridge, "/", ["BLPOP", "w:list", "0"])).status).toBe(400);
  });

  it("accepts the path form with query arguments and a POST body", async () => {
    const res = await fetch(`${stack.bridge.url}/set/p:k?EX=100`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.bridge.token}` },
      body: "body value",
    });
    expect(await res.json()).toEqual({ result: "OK" });
    const ttl = await fetch(`${stack.bridge.url}/ttl/p:k?_token=${stack.bridge.token}`);
    expect(await ttl.json()).toEqual({ result: 100 });
    expect(await stack.client().get("p:k")).toBe("body value");
  });

  it("sends an explicit pipeline as one /pipeline request with per-command errors", async () => {
    const redis = stack.client();
    await redis.set("pl:str", "s");
    const from = stack.bridge.stats.log.length;
    const results = await redis
      .pipeline()
      .set("pl:a", 1)
      .incr("pl:a")
      .hget("pl:str", "f")
      .get("pl:a")
      .exec({ keepErrors: true });
    expect(results.map((r) => r.result)).toEqual(["OK", 2, undefined, 2]);
    expect(results[2]?.error).toMatch(/^WRONGTYPE/);
    expect(stack.bridge.stats.log.slice(from).map((e) => e.path)).toEqual(["/pipeline"]);
    expect(requestsSince(stack.bridge, from)).toEqual([["SET", "INCR", "HGET", "GET"]]);
  });

  it("auto-pipelines concurrent commands into one request per read/write kind", async () => {
    const redis = stack.client();
    const from = stack.bridge.stats.log.length;
    const [a, b, c] = await Promise.all([redis.incr("ap:1"), redis.incr("ap:2"), redis.set("ap:3", "x")]);
    expect([a, b, c]).toEqual([1, 1, "OK"]);
    expect(requestsSince(stack.bridge, from)).toEqual([["INCR", "INCR", "SET"]]);
  });

  it("runs multi-exec as a transaction on /multi-exec", async () => {
    const redis = stack.client();
    const from = stack.bridge.stats.log.length;
    const results = await redis.multi().set("tx:a", 10).incrby("tx:a", 5).get("tx:a").exec();
    expect(results).toEqual(["OK", 15, 15]);
    expect(stack.bridge.stats.log.slice(from).map((e) => e.path)).toEqual(["/multi-exec"]);
    // A runtime error inside EXEC fails that command only (Redis semantics) ...
    await redis.set("tx:str", "s");
    await expect(redis.multi().incr("tx:b").hget("tx:str", "f").exec()).rejects.toThrow(/WRONGTYPE/);
    expect(await redis.get("tx:b")).toBe(1);
    // ... a command refused at queue time aborts the whole transaction.
    const aborted = await rawCall(stack.bridge, "/multi-exec", [["INCR", "tx:c"], ["NOSUCHCOMMAND"]]);
    expect(aborted.status).toBe(400);
    expect(aborted.json).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
    expect(await redis.get("tx:c")).toBeNull();
  });

  it("returns numbers, nil and nested arrays from EVAL as Upstash does", async () => {
    const redis = stack.client();
    const result = await redis.eval(
      `return {1, "two", {3, "four", {5, false}}, false, "text", -7}`,
      [],
      [],
    );
    expect(result).toEqual([1, "two", [3, "four", [5, null]], null, "text", -7]);
    expect(await redis.eval("return nil", [], [])).toBeNull();
    expect(await redis.eval("return redis.status_reply('FINE')", [], [])).toBe("FINE");
    await expect(redis.eval("return redis.error_reply('MYERR boom')", [], [])).rejects.toThrow(/MYERR boom/);
  });

  it("strips the allow-key-locking shebang for EVAL, and maps its SHA1 for EVALSHA", async () => {
    const redis = stack.client();
    const sha = createHash("sha1").update(RATELIMIT_STYLE_SCRIPT).digest("hex");
    expect(await redis.eval(RATELIMIT_STYLE_SCRIPT, ["ev:k"], [2, 100])).toEqual([2, 100]);
    expect(await redis.evalsha(sha, ["ev:k"], [3, 100])).toEqual([5, 100]);
    expect(await redis.scriptExists(sha)).toEqual([1]);
    await expect(redis.evalsha("0".repeat(40), [], [])).rejects.toThrow(/NOSCRIPT/);
  });

  it("SCRIPT LOAD answers the SHA1 of the script the client sent", async () => {
    const redis = stack.client();
    const script = RATELIMIT_STYLE_SCRIPT.replace("INCRBY", "incrby");
    const sha = await redis.scriptLoad(script);
    expect(sha).toBe(createHash("sha1").update(script).digest("hex"));
    expect(await redis.evalsha(sha, ["sl:k"], [1, 9])).toEqual([1, 9]);
  });

  it("falls back from EVALSHA to EVAL once, then EVALSHA works (Script.exec)", async () => {
    const redis = stack.client();
    const script = redis.createScript<[number, number]>(RATELIMIT_STYLE_SCRIPT.replace("{n,", "{n ,"));
    const from = stack.bridge.stats.log.length;
    expect(await script.exec(["sc:k"], ["1", "7"])).toEqual([1, 7]);
    expect(await script.exec(["sc:k"], ["1", "7"])).toEqual([2, 7]);
    expect(requestsSince(stack.bridge, from)).toEqual([["EVALSHA"], ["EVAL"], ["EVALSHA"]]);
  });

  it("rejects a wrong or missing token with 401 Unauthorized", async () => {
    const wrong = stack.client({ token: "not-the-token" });
    await expect(wrong.get("c:str")).rejects.toThrow(/Unauthorized/);
    const res = await fetch(stack.bridge.url, { method: "POST", body: JSON.stringify(["PING"]) });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: "Unauthorized" });
  });
});
