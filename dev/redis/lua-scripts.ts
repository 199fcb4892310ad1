/**
 * Upstash accepts Lua shebang flags that real Redis rejects: @upstash/ratelimit 2.1+
 * starts every script with `#!lua flags=allow-key-locking` and Redis 7 answers
 * "Unexpected flag in script shebang". We drop those flags (and the whole shebang
 * line when no flag is left, keeping the newline so error line numbers still match),
 * and remember which SHA1 the client computed (of its original text) for which SHA1
 * Redis knows (of the rewritten text), so EVALSHA, SCRIPT LOAD and SCRIPT EXISTS
 * speak the client's SHA1s, as Upstash does.
 */
import { createHash } from "node:crypto";

const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);

export function sha1Hex(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}

/** The script as real Redis accepts it; unchanged when it needs no rewrite. */
export function rewriteScript(script: string): string {
  const shebang = /^#!(\S+)([^\n]*)/.exec(script);
  if (!shebang) return script;
  const [line, engine, rest = ""] = shebang;
  let dropped = false;
  const tokens = rest.trim().split(/\s+/).filter(Boolean).map((token) => {
    if (!token.startsWith("flags=")) return token;
    const flags = token.slice("flags=".length).split(",").filter(Boolean);
    const kept = flags.filter((flag) => !UPSTASH_ONLY_FLAGS.has(flag));
    if (kept.length === flags.length) return token;
    dropped = true;
    return kept.length ? `flags=${kept.join(",")}` : "";
  }).filter(Boolean);
  if (!dropped) return script;
  const body = script.slice(line.length);
  return tokens.length ? `#!${engine} ${tokens.join(" ")}${body}` : body;
}

export class ScriptRegistry {
  /** client SHA1 (of the original text) -> SHA1 Redis knows (of the rewritten text) */
  private readonly redisShas = new Map<string, string>();

  /** Rewrites a script and remembers its SHA1 pair; returns the text to send and the client's SHA1. */
  prepare(script: string): { script: string; clientSha: string } {
    const rewritten = rewriteScript(script);
    const clientSha = sha1Hex(script);
    if (rewritten !== script) this.redisShas.set(clientSha, sha1Hex(rewritten));
    return { script: rewritten, clientSha };
  }

  /** The SHA1 to send to Redis for a SHA1 the client sent. */
  toRedisSha(clientSha: string): string {
    return this.redisShas.get(clientSha.toLowerCase()) ?? clientSha;
  }
}
