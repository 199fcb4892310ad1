/**
 * Runs Upstash-style commands on a real Redis over one shared RESP connection:
 * single commands, pipelines (one write, replies in order, errors per command) and
 * MULTI/EXEC transactions. Rewrites Lua scripts and their SHA1s (see lua-scripts.ts)
 * and refuses commands that would block or change the state of the shared connection.
 */
import { ScriptRegistry } from "./lua-scripts.ts";
import { RespConnection, RespErrorReply, type RespReply } from "./resp-connection.ts";

export type Command = string[];

interface Prepared {
  args: Command;
  transform?: (reply: RespReply) => RespReply;
}

const CONNECTION_STATE_COMMANDS = new Set([
  "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe",
  "monitor", "multi", "exec", "discard", "watch", "unwatch", "select", "quit", "reset", "hello", "client",
]);
const BLOCKING_COMMANDS = new Set([
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop", "wait", "waitaof",
]);

export class RedisExecutor {
  private readonly scripts = new ScriptRegistry();
  private connection: RespConnection | null = null;
  private connecting: Promise<RespConnection> | null = null;
  private closed = false;

  constructor(private readonly redisUrl: string) {}

  /** Replies in order; a refused command gets an error reply and is not sent. */
  async pipeline(commands: readonly Command[]): Promise<RespReply[]> {
    const prepared = commands.map((command) => this.prepare(command));
    const toSend = prepared.filter((p): p is Prepared => !(p instanceof RespErrorReply));
    const replies = toSend.length ? await (await this.connect()).sendBatch(toSend.map((p) => p.args)) : [];
    let next = 0;
    return prepared.map((p) => {
      if (p instanceof RespErrorReply) return p;
      const reply = replies[next++] ?? null;
      return p.transform && !(reply instanceof RespErrorReply) ? p.transform(reply) : reply;
    });
  }

  async single(command: Command): Promise<RespReply> {
    const [reply = null] = await this.pipeline([command]);
    return reply;
  }

  /** EXEC's replies, or the error that aborted the transaction (EXECABORT, refused command). */
  async multiExec(commands: readonly Command[]): Promise<RespReply[] | RespErrorReply> {
    const prepared: Prepared[] = [];
    for (const command of commands) {
      const p = this.prepare(command);
      if (p instanceof RespErrorReply) {
        return new RespErrorReply(`EXECABORT Transaction discarded because of previous errors: ${p.message}`);
      }
      prepared.push(p);
    }
    const batch = [["MULTI"], ...prepared.map((p) => p.args), ["EXEC"]];
    const replies = await (await this.connect()).sendBatch(batch);
    const exec = replies[replies.length - 1] ?? null;
    if (exec instanceof RespErrorReply) return exec;
    if (!Array.isArray(exec)) return new RespErrorReply("EXECABORT Transaction aborted");
    return exec.map((reply, i) => {
      const transform = prepared[i]?.transform;
      return transform && !(reply instanceof RespErrorReply) ? transform(reply) : reply;
    });
  }

  close(): void {
    this.closed = true;
    this.connection?.close();
    this.connection = null;
  }

  private async connect(): Promise<RespConnection> {
    if (this.closed) throw new Error("bridge is closed");
    if (this.connection?.isOpen) return this.connection;
    this.connecting ??= RespConnection.connect(this.redisUrl)
      .then((connection) => {
        if (this.closed) connection.close();
        this.connection = connection;
        return connection;
      })
      .finally(() => {
        this.connecting = null;
      });
    return this.connecting;
  }

  private prepare(command: Command): Prepared | RespErrorReply {
    const [rawName = "", ...rest] = command;
    const name = rawName.toLowerCase();
    const blocking =
      BLOCKING_COMMANDS.has(name) ||
      ((name === "xread" || name === "xreadgroup") && rest.some((arg) => arg.toLowerCase() === "block"));
    if (CONNECTION_STATE_COMMANDS.has(name) || blocking) {
      return new RespErrorReply(`ERR Command is not available through the Upstash bridge: ${rawName.toUpperCase()}`);
    }
    const args = [...command];
    const sub = (rest[0] ?? "").toLowerCase();
    if ((name === "eval" || name === "eval_ro") && args[1] !== undefined) {
      args[1] = this.scripts.prepare(args[1]).script;
    } else if ((name === "evalsha" || name === "evalsha_ro") && args[1] !== undefined) {
      args[1] = this.scripts.toRedisSha(args[1]);
    } else if (name === "script" && sub === "load" && args[2] !== undefined) {
      const { script, clientSha } = this.scripts.prepare(args[2]);
      args[2] = script;
      // Upstash answers with the SHA1 of the text the client sent.
      return { args, transform: () => Buffer.from(clientSha) };
    } else if (name === "script" && sub === "exists") {
      for (let i = 2; i < args.length; i++) args[i] = this.scripts.toRedisSha(args[i] ?? "");
    }
    return { args };
  }
}
