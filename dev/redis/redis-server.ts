/**
 * Starts a throwaway `redis-server` (Debian package) for local runs and tests:
 * bound to 127.0.0.1, no RDB snapshots, no AOF, answering PING before it resolves.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { onPath } from "../system-packages.ts";
import { freePort } from "../ports.ts";
import { tmpdir } from "node:os";
import path from "node:path";
import { RespConnection } from "./resp-connection.ts";

export interface RedisServerOptions {
  /** TCP port; 0 or absent picks a free one. */
  port?: number;
  /** Working directory for redis-server; a temporary one (removed on stop) when absent. */
  dir?: string;
  /** redis-server binary; found on PATH when absent. */
  bin?: string;
  /** How long to wait for PONG. Default 10 s. */
  startTimeoutMs?: number;
}

export interface RedisServerHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Absolute path of `redis-server` on PATH, or null. */
export function findRedisServer(): string | null {
  return onPath("redis-server");
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const bin = options.bin ?? findRedisServer();
  if (!bin) throw new Error("redis-server not found on PATH (Debian: sudo apt-get install -y redis-server)");
  // A port picked by freePort() can be taken before redis binds it: try a few.
  const attempts = options.port ? 1 : 3;
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = options.port || (await freePort());
    try {
      return await startOn(bin, port, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOn(bin: string, port: number, options: RedisServerOptions): Promise<RedisServerHandle> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), "redis-dev-"));
  const child = spawn(
    bin,
    [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "no",
      "--dir", dir,
      "--daemonize", "no",
      "--loglevel", "warning",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString("utf8")).slice(-4000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", (error) => {
      collect(Buffer.from(`spawn failed: ${error.message}`));
      resolve();
    });
  });
  const killOnExit = (): void => {
    child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const cleanup = async (): Promise<void> => {
    process.removeListener("exit", killOnExit);
    await terminate(child, exited);
    if (ownDir) rmSync(dir, { recursive: true, force: true });
  };

  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForPong(url, child, options.startTimeoutMs ?? 10_000);
  } catch (error) {
    await cleanup();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`redis-server on port ${port} did not start: ${reason}\n${output.trim()}`);
  }
  let stopped: Promise<void> | null = null;
  return { url, port, stop: () => (stopped ??= cleanup()) };
}

async function waitForPong(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer";
  while (Date.now() < deadline) {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`process exited (${child.exitCode ?? child.signalCode})`);
    }
    try {
      const connection = await RespConnection.connect(url, 1000);
      try {
        const [pong, info] = await connection.sendBatch([["PING"], ["INFO", "server"]]);
        // Another server may already hold the port: only our own process counts.
        const pid = /process_id:(\d+)/.exec(Buffer.isBuffer(info) ? info.toString() : "")?.[1];
        if (pong === "PONG" && Number(pid) === child.pid) return;
        lastError = pong === "PONG" ? `port answered by another process (pid ${pid})` : `PING answered ${String(pong)}`;
      } finally {
        connection.close();
      }
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms (${lastError})`);
}

async function terminate(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}
