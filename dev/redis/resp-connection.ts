/**
 * A minimal RESP2 client over one TCP connection to a real Redis.
 *
 * Kept deliberately small and exact: status replies come back as JS strings,
 * bulk strings as Buffers (binary safe), integers as numbers, nil as null and
 * error replies as `RespErrorReply` values (never thrown), also when nested
 * inside an array such as an EXEC reply. Only a broken connection rejects.
 * Commands written with one `sendBatch` call go out in one socket write, so
 * other callers' commands cannot interleave with them (MULTI ... EXEC).
 */
import net from "node:net";

export class RespErrorReply {
  constructor(readonly message: string) {}
}

export type RespReply = string | Buffer | number | null | RespErrorReply | RespReply[];
export type RespArg = string | Buffer;

interface Pending {
  resolve(reply: RespReply): void;
  reject(error: Error): void;
}

const CRLF = Buffer.from("\r\n");

export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Parses one reply starting at `start`; null when the buffer holds only part of it. */
export function parseReply(buf: Buffer, start: number): { value: RespReply; end: number } | null {
  if (start >= buf.length) return null;
  const lineEnd = buf.indexOf(CRLF, start);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[start] ?? 0);
  const line = buf.toString("utf8", start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RespErrorReply(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buf.length < next + length + 2) return null;
      return { value: Buffer.from(buf.subarray(next, next + length)), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespReply[] = [];
      let pos = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, pos);
        if (!item) return null;
        items.push(item.value);
        pos = item.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`RESP protocol error: unexpected reply type ${JSON.stringify(type)}`);
  }
}

export class RespConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new Error("Redis connection closed")));
  }

  /** Connects to `redis://[:password@]host:port[/db]`. */
  static async connect(url: string, timeoutMs = 5000): Promise<RespConnection> {
    const parsed = new URL(url);
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.createConnection({ host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || 6379) });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`Timed out connecting to ${parsed.host}`));
      }, timeoutMs);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    socket.setNoDelay(true);
    const connection = new RespConnection(socket);
    const setup: RespArg[][] = [];
    if (parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      setup.push(user ? ["AUTH", user, password] : ["AUTH", password]);
    }
    const db = parsed.pathname.replace(/^\//, "");
    if (db) setup.push(["SELECT", db]);
    for (const reply of setup.length ? await connection.sendBatch(setup) : []) {
      if (reply instanceof RespErrorReply) {
        connection.close();
        throw new Error(`Redis setup failed: ${reply.message}`);
      }
    }
    return connection;
  }

  get isOpen(): boolean {
    return this.failure === null;
  }

  send(args: readonly RespArg[]): Promise<RespReply> {
    return this.sendBatch([args]).then((replies) => replies[0] ?? null);
  }

  /** Writes all commands in one write and resolves with their replies, in order. */
  sendBatch(commands: readonly (readonly RespArg[])[]): Promise<RespReply[]> {
    if (this.failure) return Promise.reject(this.failure);
    const replies = commands.map(
      () => new Promise<RespReply>((resolve, reject) => this.pending.push({ resolve, reject })),
    );
    this.socket.write(Buffer.concat(commands.map(encodeCommand)));
    return Promise.all(replies);
  }

  close(): void {
    this.fail(new Error("Redis connection closed by client"));
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    try {
      for (let parsed = parseReply(this.buffer, offset); parsed; parsed = parseReply(this.buffer, offset)) {
        offset = parsed.end;
        this.pending.shift()?.resolve(parsed.value);
      }
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
      this.socket.destroy();
      return;
    }
    this.buffer = this.buffer.subarray(offset);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const entry of this.pending.splice(0)) entry.reject(error);
  }
}
