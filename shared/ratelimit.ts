/**
 * Rate limits on Upstash Redis: per user (default 100/min) and per organization (default
 * 1000/h), with distinct prefixes. Both limiters are asked at once; our Upstash client
 * (upstash.ts) sends them in one HTTP request. If Redis is slow (the limiter's `timeout`)
 * or down (a thrown error), the request goes through with a warning, unless
 * RATE_LIMIT_FAIL_CLOSED is set, which refuses with 503.
 */
// The package's ES module build: its package.json names only the CommonJS one (no "module" or
// "exports"), which a bundle wraps in a function compiled whole at the first call: ~1 ms more
// of every cold start.
import { Ratelimit } from '@upstash/ratelimit/dist/index.mjs';
import type { Principal } from './auth.ts';
import type { Config } from './config.ts';
import { ApiError } from './errors.ts';
import type { Logger } from './log.ts';
import { createUpstashClient } from './upstash.ts';

interface Limiters {
  key: string;
  user: Ratelimit;
  org: Ratelimit;
}

let limiters: Limiters | undefined;

function limitersFor(cfg: Config): Limiters | undefined {
  if (!cfg.UPSTASH_REDIS_REST_URL || !cfg.UPSTASH_REDIS_REST_TOKEN) return undefined;
  const key = JSON.stringify([cfg.UPSTASH_REDIS_REST_URL, cfg.RATE_LIMIT_USER, cfg.RATE_LIMIT_ORG, cfg.RATE_LIMIT_TIMEOUT_MS]);
  if (limiters?.key === key) return limiters;
  // One network retry at most: a down Redis must not hold the request for seconds.
  const redis = createUpstashClient({ url: cfg.UPSTASH_REDIS_REST_URL, token: cfg.UPSTASH_REDIS_REST_TOKEN, retries: 1, retryDelayMs: 20 });
  const common = { redis, timeout: cfg.RATE_LIMIT_TIMEOUT_MS, analytics: false, enableTelemetry: false };
  limiters = {
    key,
    user: new Ratelimit({
      ...common,
      prefix: 'billing:rl:user',
      limiter: Ratelimit.slidingWindow(cfg.RATE_LIMIT_USER.limit, cfg.RATE_LIMIT_USER.window),
    }),
    org: new Ratelimit({
      ...common,
      prefix: 'billing:rl:org',
      limiter: Ratelimit.fixedWindow(cfg.RATE_LIMIT_ORG.limit, cfg.RATE_LIMIT_ORG.window),
    }),
  };
  return limiters;
}

interface Outcome {
  success: boolean;
  limit: number;
  remaining: number;
  reset: number;
  reason?: string | undefined;
}

function limitHeaders(o: Outcome): Record<string, string> {
  return {
    'x-ratelimit-limit': String(o.limit),
    'x-ratelimit-remaining': String(Math.max(0, o.remaining)),
    'x-ratelimit-reset': String(Math.ceil(o.reset / 1000)),
  };
}

/**
 * What this instance last heard from the limiter about each caller (room left, until when)
 * and how many of its requests are in flight. A caller's database read runs beside the
 * limiter (one round trip for both) only while the caller is known to have room, or is
 * unknown with nothing in flight; otherwise the limiter answers first and a refused request
 * costs the database nothing. A caller refused once is then refused from the limiter's own
 * memory (@upstash/ratelimit's ephemeral cache, on by default) with no Redis call either.
 */
interface Seen {
  /** Room left after the last answer; null when unknown (never asked, or Redis failed). */
  remaining: number | null;
  /** Until when that answer holds (ms). */
  reset: number;
  inFlight: number;
}
const seen = new Map<string, Seen>();
const MAX_SEEN = 10_000;

function readAheadFor(key: string): { ahead: boolean; entry: Seen } {
  let entry = seen.get(key);
  if (!entry) {
    if (seen.size >= MAX_SEEN) for (const [k, e] of seen) if (e.inFlight === 0) seen.delete(k);
    seen.set(key, (entry = { remaining: null, reset: 0, inFlight: 0 }));
  }
  const known = entry.remaining !== null && entry.reset > Date.now();
  const ahead = known ? entry.remaining! - entry.inFlight > 0 : entry.inFlight === 0;
  entry.inFlight++;
  return { ahead, entry };
}

/**
 * Checks the caller's limits and runs `read`, beside the limiter when the caller has room
 * (see Seen), else only once the limiter allowed the call. Resolves with the headers to put
 * on a successful response and what `read` returned; rejects with a 429 ApiError carrying
 * Retry-After for the limit that refused (then, when the caller was known to be out of room,
 * `read` never ran).
 */
export async function checkRateLimit<R>(p: Principal, cfg: Config, log: Logger, read: () => Promise<R>): Promise<{ headers: Record<string, string>; value: R }> {
  const l = limitersFor(cfg);
  if (!l) return { headers: {}, value: await read() };
  const { ahead, entry } = readAheadFor(p.orgId ? `${p.userId}\n${p.orgId}` : p.userId);
  const reading = ahead ? read() : undefined;
  reading?.catch(() => undefined); // a refusal by the limiter takes precedence
  let headers: Record<string, string>;
  try {
    headers = await limit(l, p, cfg, log, entry);
  } finally {
    entry.inFlight--;
  }
  return { headers, value: await (reading ?? read()) };
}

async function limit(l: Limiters, p: Principal, cfg: Config, log: Logger, entry: Seen): Promise<Record<string, string>> {
  let outcomes: Outcome[];
  try {
    outcomes = await Promise.all([
      l.user.limit(p.userId),
      ...(p.orgId ? [l.org.limit(p.orgId)] : []),
    ]);
  } catch (err) {
    entry.remaining = null;
    return degraded(cfg, log, err);
  }
  if (outcomes.some((o) => o.reason === 'timeout')) {
    entry.remaining = null;
    return degraded(cfg, log, 'timeout');
  }
  const refused = outcomes.find((o) => !o.success);
  const tightest = refused ?? outcomes.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  entry.remaining = refused ? 0 : tightest.remaining;
  entry.reset = tightest.reset;
  if (refused) {
    const retryAfter = Math.max(1, Math.ceil((refused.reset - Date.now()) / 1000));
    throw new ApiError('RATE_LIMITED', 'Too many requests', {
      headers: { ...limitHeaders(refused), 'retry-after': String(retryAfter) },
    });
  }
  // Report the tighter of the limits in force.
  return limitHeaders(tightest);
}

function degraded(cfg: Config, log: Logger, err: unknown): Record<string, string> {
  const reason = err === 'timeout' ? 'timeout' : err instanceof Error ? err.name : 'error';
  if (cfg.RATE_LIMIT_FAIL_CLOSED) {
    log.warn('ratelimit_unavailable', { reason, action: 'refused' });
    throw new ApiError('SERVICE_UNAVAILABLE', 'Rate limiter unavailable, try again shortly', {
      headers: { 'retry-after': '5' },
    });
  }
  log.warn('ratelimit_unavailable', { reason, action: 'allowed' });
  return {};
}
