/**
 * Redis replies as Upstash's REST API writes them in JSON.
 *
 * Integers stay JSON numbers, nil is null, arrays nest. Strings are UTF-8 text, or,
 * when the request carried `Upstash-Encoding: base64`, base64 of their bytes: every
 * string "except for the OK response" (Upstash REST docs), which is what the decoder
 * in @upstash/redis (pkg/http.ts `decode`: `raw === "OK" ? "OK" : base64decode(raw)`)
 * expects.
 */
import { RespErrorReply, type RespReply } from "./resp-connection.ts";

export type UpstashValue = string | number | null | UpstashValue[];
export type UpstashEntry = { result: UpstashValue } | { error: string };

export function toUpstashValue(reply: RespReply, base64: boolean): UpstashValue {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => toUpstashValue(item, base64));
  if (reply instanceof RespErrorReply) return encodeText(Buffer.from(reply.message, "utf8"), base64);
  if (typeof reply === "string") {
    // status reply (+OK, +PONG, +string from TYPE ...)
    return base64 && reply !== "OK" ? Buffer.from(reply, "utf8").toString("base64") : reply;
  }
  return encodeText(reply, base64);
}

/** One element of a /pipeline or /multi-exec answer, or the body of a single command's answer. */
export function toUpstashEntry(reply: RespReply, base64: boolean): UpstashEntry {
  return reply instanceof RespErrorReply ? { error: reply.message } : { result: toUpstashValue(reply, base64) };
}

function encodeText(bytes: Buffer, base64: boolean): string {
  return base64 ? bytes.toString("base64") : bytes.toString("utf8");
}
