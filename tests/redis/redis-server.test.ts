/** startRedisServer / findRedisServer against the real Debian redis-server. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { freePort } from "../../dev/ports.ts";
import { findRedisServer, startRedisServer } from "../../dev/redis/redis-server.ts";
import { RespConnection } from "../../dev/redis/resp-connection.ts";

async function config(url: string, name: string): Promise<string> {
  const connection = await RespConnection.connect(url);
  try {
    const reply = await connection.send(["CONFIG", "GET", name]);
    return Array.isArray(reply) ? String(reply[1]) : "";
  } finally {
    connection.close();
  }
}

describe("redis-server", () => {
  it("is found on PATH", () => {
    expect(findRedisServer()).toMatch(/\/redis-server$/);
  });

  it("starts on a free port without persistence, bound to 127.0.0.1, and stops", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "redis-test-"));
    try {
      const server = await startRedisServer({ port: 0, dir });
      expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
      expect(await config(server.url, "save")).toBe("");
      expect(await config(server.url, "appendonly")).toBe("no");
      expect(await config(server.url, "bind")).toBe("127.0.0.1");
      expect(await config(server.url, "dir")).toBe(dir);
      await server.stop();
      await expect(RespConnection.connect(server.url)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("starts on a given port, and reports a clear error when it cannot", async () => {
    const port = await freePort();
    const server = await startRedisServer({ port });
    try {
      expect(server.port).toBe(port);
      await expect(startRedisServer({ port, startTimeoutMs: 2000 })).rejects.toThrow(
        new RegExp(`redis-server on port ${port} did not start`),
      );
    } finally {
      await server.stop();
    }
    await expect(startRedisServer({ bin: "/nonexistent/redis-server" })).rejects.toThrow(/did not start/);
  });
});
