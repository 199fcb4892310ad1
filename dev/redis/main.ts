/**
 * Local Upstash: a throwaway redis-server plus the Upstash REST bridge in front of it.
 *
 *   npx tsx dev/redis/main.ts --port 8079 --token dev [--redis-port 6380] [--redis-url redis://127.0.0.1:6379]
 *
 * With --redis-url it uses that Redis instead of starting one. Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startRedisServer, type RedisServerHandle } from "./redis-server.ts";
import { startUpstashBridge } from "./upstash-bridge.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8079" },
    token: { type: "string", default: "dev" },
    "redis-port": { type: "string", default: "0" },
    "redis-url": { type: "string" },
  },
});

const redis: RedisServerHandle | null = values["redis-url"]
  ? null
  : await startRedisServer({ port: Number(values["redis-port"]) });
const redisUrl = values["redis-url"] ?? redis?.url ?? "";
const bridge = await startUpstashBridge({ redisUrl, token: values.token, port: Number(values.port) });

console.log(
  `Upstash bridge on ${bridge.url} (token "${bridge.token}") over ${redisUrl}: ` +
    `UPSTASH_REDIS_REST_URL=${bridge.url} UPSTASH_REDIS_REST_TOKEN=${bridge.token}`,
);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await bridge.close();
  await redis?.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
