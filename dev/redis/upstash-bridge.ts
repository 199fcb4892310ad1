/**
 * An Upstash-compatible REST server over a real Redis, for local runs and tests:
 * the real `@upstash/redis` client and `@upstash/ratelimit` talk to it unchanged.
 *
 * Protocol (as @upstash/redis 1.39 speaks it, pkg/http.ts and pkg/pipeline.ts):
 * - POST /            body ["SET","k","v"]              -> {"result": ...}
 * - POST /pipeline    body [["SET","k","v"],["GET","k"]] -> [{"result": ...}, {"error": "..."}]
 * - POST /multi-exec  same, run in MULTI/EXEC
 * - GET|POST /set/k/v?EX=100 (path form; a POST body is appended as the last path argument)
 * - `Authorization: Bearer <token>` (or `?_token=`), else 401 {"error":"Unauthorized"}
 * - `Upstash-Encoding: base64`: every string in the answer base64 except "OK"
 * - a failing single command answers 400 {"error": "..."}; the client reads the
 *   `upstash-sync-token` answer header and sends it back (read-your-writes).
 *
 * Faults for tests: `setDown(true)` resets every connection (open ones and new ones),
 * which the client sees as a network error, like an unreachable Upstash;
 * `setDelay(ms)` holds every request that long before running it.
 */
import http from "node:http";
import type net from "node:net";
import { timingSafeEqual } from "node:crypto";
import { RedisExecutor, type Command } from "./redis-executor.ts";
import { RespErrorReply } from "./resp-connection.ts";
import { toUpstashEntry, type UpstashEntry } from "./upstash-encoding.ts";

export interface UpstashBridgeOptions {
  redisUrl: string;
  token: string;
  /** 0 or absent picks a free port. */
  port?: number;
  host?: string;
}

export interface BridgeLogEntry {
  path: string;
  /** Command names in the request, upper case (empty when the request was refused). */
  commands: string[];
  status: number;
}

export interface BridgeStats {
  /** HTTP requests received (not counting connections reset while down). */
  requests: number;
  /** Redis commands received in those requests. */
  commands: number;
  /** Most recent requests, oldest first (at most 1000). */
  log: BridgeLogEntry[];
}

export interface UpstashBridge {
  url: string;
  port: number;
  token: string;
  faults: { setDown(down: boolean): void; setDelay(ms: number): void };
  stats: BridgeStats;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const LOG_LIMIT = 1000;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const executor = new RedisExecutor(options.redisUrl);
  const stats: BridgeStats = { requests: 0, commands: 0, log: [] };
  const sockets = new Set<net.Socket>();
  let down = false;
  let delayMs = 0;
  let syncToken = 0;

  const record = (entry: BridgeLogEntry): void => {
    stats.log.push(entry);
    if (stats.log.length > LOG_LIMIT) stats.log.splice(0, stats.log.length - LOG_LIMIT);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    stats.requests++;
    const url = new URL(req.url ?? "/", "http://bridge");
    const entry: BridgeLogEntry = { path: url.pathname, commands: [], status: 0 };
    record(entry);
    const reply = (status: number, body: UpstashEntry | UpstashEntry[]): void => {
      entry.status = status;
      if (res.destroyed) return;
      res.writeHead(status, {
        "content-type": "application/json",
        "upstash-sync-token": String(++syncToken),
      });
      res.end(JSON.stringify(body));
    };
    try {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      // Reset while held (setDown): the request never "arrived"; run nothing.
      if (req.socket.destroyed) return;
      if (!["GET", "HEAD", "POST", "PUT"].includes(req.method ?? "")) {
        throw new HttpError(405, "Method Not Allowed");
      }
      if (!authorized(req, url, options.token)) throw new HttpError(401, "Unauthorized");
      const body = await readBody(req);
      const base64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";

      if (url.pathname === "/pipeline" || url.pathname === "/multi-exec") {
        const commands = parseCommandList(body);
        entry.commands = commands.map(commandName);
        stats.commands += commands.length;
        if (url.pathname === "/pipeline") {
          const replies = await executor.pipeline(commands);
          return reply(200, replies.map((r) => toUpstashEntry(r, base64)));
        }
        const replies = await executor.multiExec(commands);
        if (replies instanceof RespErrorReply) return reply(400, { error: replies.message });
        return reply(200, replies.map((r) => toUpstashEntry(r, base64)));
      }
      const command = url.pathname === "/" ? parseCommand(parseJson(body)) : pathCommand(url, body);
      entry.commands = [commandName(command)];
      stats.commands += 1;
      const result = toUpstashEntry(await executor.single(command), base64);
      return reply("error" in result ? 400 : 200, result);
    } catch (error) {
      if (error instanceof HttpError) return reply(error.status, { error: error.message });
      const message = error instanceof Error ? error.message : String(error);
      return reply(500, { error: `ERR bridge could not reach Redis: ${message}` });
    }
  };

  const server = http.createServer((req, res) => void handle(req, res));
  server.on("connection", (socket: net.Socket) => {
    if (down) {
      socket.resetAndDestroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  let closing: Promise<void> | null = null;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    token: options.token,
    stats,
    faults: {
      setDown(value: boolean): void {
        down = value;
        if (down) for (const socket of sockets) socket.resetAndDestroy();
      },
      setDelay(ms: number): void {
        delayMs = Math.max(0, ms);
      },
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        executor.close();
      })),
  };
}

function authorized(req: http.IncomingMessage, url: URL, token: string): boolean {
  const header = req.headers.authorization ?? "";
  const given = /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? url.searchParams.get("_token") ?? "";
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, "ERR request body too large");
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new HttpError(400, "ERR failed to parse command: body is not JSON");
  }
}

function parseCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR failed to parse command: expected a non-empty JSON array");
  }
  return value.map((arg: unknown) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new HttpError(400, `ERR failed to parse command: unsupported argument ${JSON.stringify(arg)}`);
  });
}

function parseCommandList(body: string): Command[] {
  const value = parseJson(body);
  if (!Array.isArray(value) || value.length === 0) {
    throw new HttpError(400, "ERR failed to parse pipeline: expected a non-empty JSON array of commands");
  }
  return value.map(parseCommand);
}

/** `/set/foo/bar?EX=100` -> SET foo bar EX 100; a POST body becomes the last path argument. */
function pathCommand(url: URL, body: string): Command {
  const command = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (body.length > 0) command.push(body);
  for (const [key, value] of url.searchParams) {
    if (key !== "_token") command.push(key, value);
  }
  return parseCommand(command);
}

function commandName(command: Command): string {
  return (command[0] ?? "").toUpperCase();
}
