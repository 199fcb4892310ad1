/**
 * Configuration: read from the environment once per process and validated, so a bad or
 * missing value fails with a message that names the variable. Sections that only some
 * functions need (Stripe, the service key) are checked when first used, so GET
 * subscription runs without Stripe keys.
 */
import * as z from './zod.ts';

/** Used only outside production when no JWT setting is given; `npm run token` signs with it. */
export const DEV_JWT_SECRET = 'dev-only-jwt-secret-do-not-use-in-production-000000';

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

const text = z.string();
const list = z.pipe(text, z.transform((s: string) => s.split(',').map((x) => x.trim()).filter(Boolean)));
const bool = z.pipe(
  z.enum(['true', 'false', '1', '0', 'yes', 'no']),
  z.transform((s) => s === 'true' || s === '1' || s === 'yes'),
);
/** A whole number from a string, within [min, max]. */
const whole = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max));
const secret = (minLength: number) => z.string().check(z.minLength(minLength, `must be at least ${minLength} characters`));
const prefixed = (prefix: string, message: string) => z.string().check(z.startsWith(prefix, message));
/** "100/1m", "1000/1h": count per window (s, m, h, d). */
const rate = z.pipe(
  z.string().check(z.regex(/^\d+\s*\/\s*\d+\s*[smhd]$/, 'must look like 100/1m')),
  z.transform((s: string) => {
    const [count, window] = s.split('/').map((x) => x.trim()) as [string, string];
    return { limit: Number(count), window: window.replace(/([smhd])$/, ' $1') as `${number} ${'s' | 'm' | 'h' | 'd'}` };
  }),
);
/** "price_a=Basic,price_b=Pro" and the like: a value for each price. */
const byPrice = <T>(pattern: RegExp, example: string, value: (s: string) => T) =>
  z.pipe(
    z.string().check(z.regex(pattern, `must look like ${example}`)),
    z.transform((s: string) => Object.fromEntries(s.split(',').map((kv) => {
      const [price, v] = kv.split('=').map((x) => x.trim()) as [string, string];
      return [price, value(v)] as const;
    }))),
  );

const schema = z.object({
  NODE_ENV: z.optional(text),
  CONTEXT: z.optional(text),
  URL: z._default(z.url(), 'http://localhost:8888'),
  DASHBOARD_PATH: z._default(prefixed('/', 'must start with /'), '/dashboard'),
  ALLOWED_ORIGINS: z.optional(list),

  JWT_SECRET: z.optional(secret(32)),
  SUPABASE_JWT_SECRET: z.optional(secret(32)),
  JWT_JWKS_URL: z.optional(z.url()),
  JWT_ISSUER: z.optional(text),
  JWT_AUDIENCE: z.optional(text),
  JWT_ORG_CLAIM: z._default(text, 'org_id'),
  JWT_ROLE_CLAIM: z._default(text, 'org_role'),
  BILLING_MANAGER_ROLES: z._default(list, ['owner', 'admin']),

  UPSTASH_REDIS_REST_URL: z.optional(z.url()),
  UPSTASH_REDIS_REST_TOKEN: z.optional(text),
  RATE_LIMIT_USER: z._default(rate, { limit: 100, window: '1 m' }),
  RATE_LIMIT_ORG: z._default(rate, { limit: 1000, window: '1 h' }),
  RATE_LIMIT_FAIL_CLOSED: z._default(bool, false),
  RATE_LIMIT_TIMEOUT_MS: z._default(whole(1), 1000),

  DATABASE_URL: z.optional(z.url()),
  SUPABASE_URL: z.optional(z.url()),
  SUPABASE_SERVICE_ROLE_KEY: z.optional(text),
  DATABASE_POOL_MAX: z._default(whole(1), 3),

  PAST_DUE_GRACE_DAYS: z._default(whole(0), 7),

  STRIPE_SECRET_KEY: z.optional(z.string().check(z.regex(/^(sk|rk)_(test|live)_/, 'must start with sk_test_, sk_live_ or rk_'))),
  STRIPE_WEBHOOK_SECRET: z.optional(list),
  STRIPE_PRICE_ID: z.optional(prefixed('price_', 'must be a Stripe price id')),
  STRIPE_PRICE_IDS: z._default(list, []),
  STRIPE_API_BASE: z.optional(z.url()),
  // Worst case (1 + retries) x timeout stays under Netlify's 10 s synchronous limit.
  STRIPE_TIMEOUT_MS: z._default(whole(1), 4000),
  STRIPE_MAX_RETRIES: z._default(whole(0, 5), 1),
  STRIPE_TRIAL_DAYS: z._default(whole(0), 0),
  STRIPE_ALLOW_PROMOTION_CODES: z._default(bool, false),
  STRIPE_AUTOMATIC_TAX: z._default(bool, false),
  /** The meter's event_name: usage is reported as meter events of this name (Stripe: at most 100 characters). */
  STRIPE_METER_EVENT_NAME: z.optional(z.string().check(z.trim(), z.minLength(1), z.maxLength(100, 'must be at most 100 characters'))),
  /** The meter whose event summaries GET usage?source=stripe shows. */
  STRIPE_METER_ID: z.optional(prefixed('mtr_', 'must be a Stripe meter id (mtr_...)')),
  /** "price_a=Basic,price_b=Pro": plan names shown for prices. */
  PLAN_NAMES: z._default(byPrice(/^\s*price_\w+=[^,=]+(,\s*price_\w+=[^,=]+)*\s*$/, 'price_a=Basic,price_b=Pro', (v) => v), {}),
  /** "price_a=10000,price_b=100000": usage included in each plan before overage. */
  USAGE_INCLUDED: z._default(byPrice(/^\s*price_\w+\s*=\s*\d+(\s*,\s*price_\w+\s*=\s*\d+)*\s*$/, 'price_a=10000,price_b=100000', Number), {}),

  BILLING_SERVICE_KEY: z.optional(secret(24)),

  /** Usage is reported per customer and window of this many seconds (whole minutes, at most a day). */
  USAGE_REPORT_WINDOW_SECONDS: z._default(
    whole(60, 86_400).check(z.refine((n) => n % 60 === 0, 'must be a whole number of minutes (a multiple of 60)')),
    3600,
  ),
  /** How long a reporter owns the batches it claimed; after that another reporter re-sends them. */
  USAGE_REPORT_LEASE_SECONDS: z._default(whole(1, 3600), 120),
  /** Customers reported in parallel (each customer's events go one at a time, as Stripe asks). */
  USAGE_REPORT_CONCURRENCY: z._default(whole(1, 50), 4),
});

type Env = z.output<typeof schema>;

export interface Config extends Env {
  production: boolean;
  /** The HS256 secret in force (explicit, or the development default outside production). */
  jwtSecret: string | undefined;
}

let cached: Config | undefined;

/** Validates `env` (default: process.env). Throws ConfigError naming the first bad variable. */
export function parseConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new ConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = result.data;
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
  if (e.UPSTASH_REDIS_REST_URL && !e.UPSTASH_REDIS_REST_TOKEN) {
    throw new ConfigError('UPSTASH_REDIS_REST_TOKEN', 'is required when UPSTASH_REDIS_REST_URL is set');
  }
  return { ...e, production, jwtSecret };
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
