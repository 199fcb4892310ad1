/**
 * Configuration: read from the environment once per process and validated, so a bad or
 * missing value fails with a message that names the variable. Sections that only some
 * functions need (Stripe, the service key) are checked when first used, so GET
 * subscription runs without Stripe keys.
 */
import bundledCatalogue from '../catalogue.ts';
import { CatalogueError, parseCatalogue, type Catalogue } from './catalogue.ts';

/** Used only outside production when no JWT setting is given; `npm run token` signs with it. */
export const DEV_JWT_SECRET = 'dev-only-jwt-secret-do-not-use-in-production-000000';

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

// Each variable is a string: a small parser per kind reads it, and a bad value fails with
// a problem that ConfigError prefixes with the variable's name. (Not zod: this runs in
// every cold start; taking zod/mini out of it took GET subscription's from 98.6 to 87.9 ms,
// `npm run bench -- --only coldstart`.)

/** What is wrong with a value; parseConfig names the variable. */
class Problem extends Error {}
type Parse<T> = (value: string) => T;
type Setting<T> = (value: string | undefined) => T;

const optional = <T>(parse: Parse<T>): Setting<T | undefined> => (v) => (v === undefined ? undefined : parse(v));
const withDefault = <T>(parse: Parse<T>, fallback: NoInfer<T>): Setting<T> => (v) => (v === undefined ? fallback : parse(v));

const text: Parse<string> = (s) => s;
const check = (ok: boolean, problem: string) => {
  if (!ok) throw new Problem(problem);
};
const url: Parse<string> = (s) => (check(URL.canParse(s), 'must be a URL'), s);
const matching = (pattern: RegExp, problem: string): Parse<string> => (s) => (check(pattern.test(s), problem), s);
const prefixed = (prefix: string, problem: string): Parse<string> => (s) => (check(s.startsWith(prefix), problem), s);
const secret = (minLength: number): Parse<string> => (s) => (check(s.length >= minLength, `must be at least ${minLength} characters`), s);
const list: Parse<string[]> = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);
const bool: Parse<boolean> = (s) => {
  check(['true', 'false', '1', '0', 'yes', 'no'].includes(s), 'must be one of true, false, 1, 0, yes, no');
  return s === 'true' || s === '1' || s === 'yes';
};
/** A whole number within [min, max]. */
const whole = (min: number, max = Number.MAX_SAFE_INTEGER): Parse<number> => (s) => {
  const n = Number(s.trim());
  check(/^\s*\d+\s*$/.test(s) && n >= min && n <= max, max === Number.MAX_SAFE_INTEGER ? `must be a whole number of at least ${min}` : `must be a whole number from ${min} to ${max}`);
  return n;
};
/** "100/1m", "1000/1h": count per window (s, m, h, d). */
const rate: Parse<{ limit: number; window: `${number} ${'s' | 'm' | 'h' | 'd'}` }> = (s) => {
  check(/^\d+\s*\/\s*\d+\s*[smhd]$/.test(s), 'must look like 100/1m');
  const [count, window] = s.split('/').map((x) => x.trim()) as [string, string];
  return { limit: Number(count), window: window.replace(/([smhd])$/, ' $1') as `${number} ${'s' | 'm' | 'h' | 'd'}` };
};
const settings = {
  NODE_ENV: optional(text),
  CONTEXT: optional(text),
  URL: withDefault(url, 'http://localhost:8888'),
  DASHBOARD_PATH: withDefault(prefixed('/', 'must start with /'), '/dashboard'),
  /** Where Checkout returns when the request names no URL; default DASHBOARD_PATH?success=true and ?canceled=true, as the seeds' frontends read. */
  CHECKOUT_SUCCESS_PATH: optional(prefixed('/', 'must start with /')),
  CHECKOUT_CANCEL_PATH: optional(prefixed('/', 'must start with /')),
  ALLOWED_ORIGINS: optional(list),

  JWT_SECRET: optional(secret(32)),
  SUPABASE_JWT_SECRET: optional(secret(32)),
  JWT_JWKS_URL: optional(url),
  JWT_ISSUER: optional(text),
  JWT_AUDIENCE: optional(text),
  /** The claim that names the user: `sub` (Supabase, Auth0, Clerk), or e.g. `id` for apps that sign `{ id, email }`. */
  JWT_USER_ID_CLAIM: withDefault(matching(/^[A-Za-z_][\w.:-]{0,63}$/, 'must be a claim name such as sub or id'), 'sub'),
  JWT_ORG_CLAIM: withDefault(text, 'org_id'),
  JWT_ROLE_CLAIM: withDefault(text, 'org_role'),
  BILLING_MANAGER_ROLES: withDefault(list, ['owner', 'admin']),

  UPSTASH_REDIS_REST_URL: optional(url),
  UPSTASH_REDIS_REST_TOKEN: optional(text),
  RATE_LIMIT_USER: withDefault(rate, { limit: 100, window: '1 m' }),
  RATE_LIMIT_ORG: withDefault(rate, { limit: 1000, window: '1 h' }),
  RATE_LIMIT_FAIL_CLOSED: withDefault(bool, false),
  RATE_LIMIT_TIMEOUT_MS: withDefault(whole(1), 1000),

  DATABASE_URL: optional(url),
  SUPABASE_URL: optional(url),
  SUPABASE_SERVICE_ROLE_KEY: optional(text),
  // 3, not 1: one connection serves a long-running server's concurrent queries ~20% faster
  // (pipelined; GET subscription under load), but after an outage the next request waits
  // behind that connection's attempt started during it (up to connect_timeout) and answers
  // 503 (tests/faults/postgres-slow.test.ts); with more, it opens another.
  DATABASE_POOL_MAX: withDefault(whole(1), 3),

  PAST_DUE_GRACE_DAYS: withDefault(whole(0), 7),

  STRIPE_SECRET_KEY: optional(matching(/^(sk|rk)_(test|live)_/, 'must start with sk_test_, sk_live_ or rk_')),
  STRIPE_WEBHOOK_SECRET: optional(list),
  STRIPE_PRICE_ID: optional(prefixed('price_', 'must be a Stripe price id')),
  STRIPE_API_BASE: optional(url),
  // Worst case (1 + retries) x timeout stays under Netlify's 10 s synchronous limit.
  STRIPE_TIMEOUT_MS: withDefault(whole(1), 4000),
  STRIPE_MAX_RETRIES: withDefault(whole(0, 5), 1),
  STRIPE_TRIAL_DAYS: withDefault(whole(0), 0),
  STRIPE_ALLOW_PROMOTION_CODES: withDefault(bool, false),
  STRIPE_AUTOMATIC_TAX: withDefault(bool, false),
  /** The meter's event_name: usage is reported as meter events of this name (Stripe: at most 100 characters). */
  STRIPE_METER_EVENT_NAME: optional((s) => {
    const name = s.trim();
    check(name.length >= 1 && name.length <= 100, 'must be 1 to 100 characters');
    return name;
  }),
  /** The meter whose event summaries GET usage?source=stripe shows. */
  STRIPE_METER_ID: optional(prefixed('mtr_', 'must be a Stripe meter id (mtr_...)')),

  BILLING_SERVICE_KEY: optional(secret(24)),
  /** Where usage alerts (80 % and 100 % of a limit) are POSTed, signed with ALERT_WEBHOOK_SECRET; unset: logged only. */
  ALERT_WEBHOOK_URL: optional(url),
  ALERT_WEBHOOK_SECRET: optional(secret(24)),
  /** The plan catalogue as JSON, in place of catalogue.ts (tests, or a deploy that keeps it outside the code). */
  BILLING_CATALOGUE: optional(text),

  /** Usage is reported per customer and window of this many seconds (whole minutes, at most a day). */
  USAGE_REPORT_WINDOW_SECONDS: withDefault((s) => {
    const n = whole(60, 86_400)(s);
    check(n % 60 === 0, 'must be a whole number of minutes (a multiple of 60)');
    return n;
  }, 3600),
  /** How long a reporter owns the batches it claimed; after that another reporter re-sends them. */
  USAGE_REPORT_LEASE_SECONDS: withDefault(whole(1, 3600), 120),
  /** Customers reported in parallel (each customer's events go one at a time, as Stripe asks). */
  USAGE_REPORT_CONCURRENCY: withDefault(whole(1, 50), 4),
};

/** Every variable the configuration reads (the benchmarks clear them from a developer's shell). */
export const CONFIG_KEYS = Object.keys(settings) as Array<keyof typeof settings>;

type Env = { [K in keyof typeof settings]: ReturnType<(typeof settings)[K]> };

export interface Config extends Env {
  production: boolean;
  /** The HS256 secret in force (explicit, or the development default outside production). */
  jwtSecret: string | undefined;
  /** The plans (catalogue.ts, or BILLING_CATALOGUE), validated; `plans: []` when there is none. */
  catalogue: Catalogue;
}

let cached: Config | undefined;

/** Variables the catalogue replaced: set, they would be silently ignored, so they are refused. */
const REPLACED = ['PLAN_NAMES', 'USAGE_INCLUDED', 'STRIPE_PRICE_IDS'];

/** Validates `env` (default: process.env). Throws ConfigError naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  for (const name of REPLACED) {
    if (env[name]) throw new ConfigError(name, 'is replaced by catalogue.ts: move it there (README, "Migrating from PLAN_NAMES, USAGE_INCLUDED and STRIPE_PRICE_IDS")');
  }
  const e: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings)) {
    const value = env[name];
    try {
      e[name] = setting(value === '' ? undefined : value);
    } catch (err) {
      if (err instanceof Problem) throw new ConfigError(name, err.message);
      throw err;
    }
  }
  return checked(e as Env);
}

/** The rules that span variables. */
function checked(e: Env): Config {
  const production = e.NODE_ENV === 'production' || e.CONTEXT === 'production';
  let jwtSecret = e.JWT_SECRET ?? e.SUPABASE_JWT_SECRET;
  if (!jwtSecret && !e.JWT_JWKS_URL) {
    if (production) throw new ConfigError('JWT_SECRET', 'is required in production (or set JWT_JWKS_URL)');
    jwtSecret = DEV_JWT_SECRET;
  }
  if (production && e.STRIPE_API_BASE) {
    throw new ConfigError('STRIPE_API_BASE', 'must not be set in production (it points Stripe calls at a local double)');
  }
  if (e.SUPABASE_URL && !e.SUPABASE_SERVICE_ROLE_KEY) {
    throw new ConfigError('SUPABASE_SERVICE_ROLE_KEY', 'is required when SUPABASE_URL is set');
  }
  if (e.ALERT_WEBHOOK_URL && !e.ALERT_WEBHOOK_SECRET) {
    throw new ConfigError('ALERT_WEBHOOK_SECRET', 'is required when ALERT_WEBHOOK_URL is set (alerts are signed with it)');
  }
  if (e.UPSTASH_REDIS_REST_URL && !e.UPSTASH_REDIS_REST_TOKEN) {
    throw new ConfigError('UPSTASH_REDIS_REST_TOKEN', 'is required when UPSTASH_REDIS_REST_URL is set');
  }
  return { ...e, production, jwtSecret, catalogue: catalogueOf(e.BILLING_CATALOGUE) };
}

/** A bad catalogue fails like a bad variable: ConfigError naming the plan, field and problem. */
function catalogueOf(json: string | undefined): Catalogue {
  const variable = json === undefined ? 'catalogue.ts' : 'BILLING_CATALOGUE';
  try {
    return parseCatalogue(json === undefined ? bundledCatalogue : JSON.parse(json));
  } catch (err) {
    if (err instanceof CatalogueError) throw new ConfigError(variable, `is invalid: ${err.message}`);
    if (err instanceof SyntaxError) throw new ConfigError(variable, 'must be JSON');
    throw err;
  }
}

export function config(): Config {
  cached ??= parseConfig();
  return cached;
}

/** Tests and the dev server change the environment between runs; this drops the cached copy. */
export function resetConfig(): void {
  cached = undefined;
}

/** The value of a setting a feature cannot work without, or a ConfigError naming it. */
export function required<K extends keyof Config>(key: K): NonNullable<Config[K]> {
  const value = config()[key];
  if (value === undefined || value === null) throw new ConfigError(String(key), 'is required for this endpoint');
  return value as NonNullable<Config[K]>;
}
