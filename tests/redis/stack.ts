/** A real redis-server plus the Upstash bridge in front of it, for one test file. */
import { Redis, type RedisConfigNodejs } from "@upstash/redis";
import { startRedisServer, type RedisServerHandle } from "../../dev/redis/redis-server.ts";
import { startUpstashBridge, type UpstashBridge } from "../../dev/redis/upstash-bridge.ts";
import { createUpstashClient, type LimiterRedis, type UpstashOptions } from "../../shared/upstash.ts";

export interface Stack {
  redis: RedisServerHandle;
  bridge: UpstashBridge;
  /** A real @upstash/redis client for the bridge (no retries unless asked). */
  client(options?: Partial<RedisConfigNodejs>): Redis;
  /** The app's Upstash client for the bridge (createUpstashClient), as shared/ratelimit.ts makes it: one network retry after 20 ms. */
  limiterClient(options?: Partial<UpstashOptions>): LimiterRedis;
  stop(): Promise<void>;
}

export const TOKEN = "test-token";

export async function startStack(): Promise<Stack> {
  const redis = await startRedisServer({ port: 0 });
  const bridge = await startUpstashBridge({ redisUrl: redis.url, token: TOKEN });
  return {
    redis,
    bridge,
    client: (options = {}) =>
      new Redis({ url: bridge.url, token: TOKEN, retry: false, enableTelemetry: false, ...options }),
    limiterClient: (options = {}) => createUpstashClient({ url: bridge.url, token: TOKEN, retries: 1, retryDelayMs: 20, ...options }),
    stop: async () => {
      await bridge.close();
      await redis.stop();
    },
  };
}

/** Upper-cased command names of every HTTP request the bridge received since `from`. */
export function requestsSince(bridge: UpstashBridge, from: number): string[][] {
  return bridge.stats.log.slice(from).map((entry) => entry.commands);
}

/** A raw HTTP call to the bridge, to look at the wire format itself. */
export async function rawCall(
  bridge: UpstashBridge,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(bridge.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}
