/** The shebang rewrite the bridge applies to Upstash-flavoured Lua scripts. */
import { describe, expect, it } from "vitest";
import { rewriteScript, ScriptRegistry, sha1Hex } from "../../dev/redis/lua-scripts.ts";

describe("rewriteScript", () => {
  it("drops an allow-key-locking-only shebang but keeps the line count", () => {
    const script = "#!lua flags=allow-key-locking\n  return 1\n";
    expect(rewriteScript(script)).toBe("\n  return 1\n");
  });

  it("keeps flags real Redis knows", () => {
    expect(rewriteScript("#!lua flags=no-writes,allow-key-locking\nreturn 1")).toBe("#!lua flags=no-writes\nreturn 1");
  });

  it("leaves other scripts untouched", () => {
    for (const script of ["return 1", "#!lua\nreturn 1", "#!lua flags=no-writes\nreturn 1", "-- #!lua flags=allow-key-locking"]) {
      expect(rewriteScript(script)).toBe(script);
    }
  });
});

describe("ScriptRegistry", () => {
  it("maps the client's SHA1 of the original text to the SHA1 of the rewritten one", () => {
    const registry = new ScriptRegistry();
    const original = "#!lua flags=allow-key-locking\nreturn 1";
    const { script, clientSha } = registry.prepare(original);
    expect(clientSha).toBe(sha1Hex(original));
    expect(registry.toRedisSha(clientSha)).toBe(sha1Hex(script));
    expect(registry.toRedisSha(clientSha.toUpperCase())).toBe(sha1Hex(script));
    expect(registry.toRedisSha("f".repeat(40))).toBe("f".repeat(40));
  });
});
