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
 * Checks the caller's limits. Resolves with the headers to put on a successful response;
 * rejects with a 429 ApiError carrying Retry-After for the limit that refused.
 */
export async function checkRateLimit(p: Principal, cfg: Config, log: Logger): Promise<Record<string, string>> {
  const l = limitersFor(cfg);
  if (!l) return {};
  let outcomes: Outcome[];
  try {
    outcomes = await Promise.all([
      l.user.limit(p.userId),
      ...(p.orgId ? [l.org.limit(p.orgId)] : []),
    ]);
  } catch (err) {
    return degraded(cfg, log, err);
  }
  if (outcomes.some((o) => o.reason === 'timeout')) return degraded(cfg, log, 'timeout');
  const refused = outcomes.find((o) => !o.success);
  if (refused) {
    const retryAfter = Math.max(1, Math.ceil((refused.reset - Date.now()) / 1000));
    throw new ApiError('RATE_LIMITED', 'Too many requests', {
      headers: { ...limitHeaders(refused), 'retry-after': String(retryAfter) },
    });
  }
  // Report the tighter of the limits in force.
  const tightest = outcomes.reduce((a, b) => (b.remaining < a.remaining ? b : a));
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
