/**
 * Configuration: read from the environment once per process and validated, so a bad or
 * missing value fails with a message that names the variable. Sections that only some
 * functions need (Stripe, the service key) are checked when first used, so GET
 * subscription runs without Stripe keys.
 */
// A namespace import lets the bundler drop what is unused (`{ z }` pulls in every locale).
import * as z from 'zod';

/** Used only outside production when no JWT setting is given; `npm run token` signs with it. */
export const DEV_JWT_SECRET = 'dev-only-jwt-secret-do-not-use-in-production-000000';

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((s) => s === 'true' || s === '1' || s === 'yes');
const positiveInt = z.coerce.number().int().positive();
/** "100/1m", "1000/1h": count per window (s, m, h, d). */
const rate = z
  .string()
  .regex(/^\d+\s*\/\s*\d+\s*[smhd]$/, 'must look like 100/1m')
  .transform((s) => {
    const [count, window] = s.split('/').map((x) => x.trim()) as [string, string];
    return { limit: Number(count), window: window.replace(/([smhd])$/, ' $1') as `${number} ${'s' | 'm' | 'h' | 'd'}` };
  });
const url = z.string().url();

const schema = z.object({
  NODE_ENV: z.string().optional(),
  CONTEXT: z.string().optional(),
  URL: url.default('http://localhost:8888'),
  DASHBOARD_PATH: z.string().startsWith('/').default('/dashboard'),
  ALLOWED_ORIGINS: list.optional(),

  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  SUPABASE_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_JWKS_URL: url.optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  JWT_ORG_CLAIM: z.string().default('org_id'),
  JWT_ROLE_CLAIM: z.string().default('org_role'),
  BILLING_MANAGER_ROLES: list.default(['owner', 'admin']),

  UPSTASH_REDIS_REST_URL: url.optional(),
  UPSTASH_REDIS_REST_TOKEN: z.string().optional(),
  RATE_LIMIT_USER: rate.default({ limit: 100, window: '1 m' }),
  RATE_LIMIT_ORG: rate.default({ limit: 1000, window: '1 h' }),
  RATE_LIMIT_FAIL_CLOSED: bool.default(false),
  RATE_LIMIT_TIMEOUT_MS: positiveInt.default(1000),

  DATABASE_URL: url.optional(),
  SUPABASE_URL: url.optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().optional(),
  DATABASE_POOL_MAX: positiveInt.default(3),

  PAST_DUE_GRACE_DAYS: z.coerce.number().int().min(0).default(7),

  STRIPE_SECRET_KEY: z.string().regex(/^(sk|rk)_(test|live)_/, 'must start with sk_test_, sk_live_ or rk_').optional(),
  STRIPE_WEBHOOK_SECRET: list.optional(),
  STRIPE_PRICE_ID: z.string().startsWith('price_', 'must be a Stripe price id').optional(),
  STRIPE_PRICE_IDS: list.default([]),
  STRIPE_API_BASE: url.optional(),
  // Worst case (1 + retries) x timeout stays under Netlify's 10 s synchronous limit.
  STRIPE_TIMEOUT_MS: positiveInt.default(4000),
  STRIPE_MAX_RETRIES: z.coerce.number().int().min(0).max(5).default(1),
  STRIPE_TRIAL_DAYS: z.coerce.number().int().min(0).default(0),
  STRIPE_ALLOW_PROMOTION_CODES: bool.default(false),
  STRIPE_AUTOMATIC_TAX: bool.default(false),
  /** The meter's event_name: usage is reported as meter events of this name (Stripe: at most 100 characters). */
  STRIPE_METER_EVENT_NAME: z.string().trim().min(1).max(100, 'must be at most 100 characters').optional(),
  /** The meter whose event summaries GET usage?source=stripe shows. */
  STRIPE_METER_ID: z.string().startsWith('mtr_', 'must be a Stripe meter id (mtr_...)').optional(),
  /** "price_a=Basic,price_b=Pro": plan names shown for prices. */
  PLAN_NAMES: z
    .string()
    .regex(/^\s*price_\w+=[^,=]+(,\s*price_\w+=[^,=]+)*\s*$/, 'must look like price_a=Basic,price_b=Pro')
    .transform((s) => Object.fromEntries(s.split(',').map((kv) => kv.split('=').map((x) => x.trim()) as [string, string])))
    .default({}),
  /** "price_a=10000,price_b=100000": usage included in each plan before overage. */
  USAGE_INCLUDED: z
    .string()
    .regex(/^\s*price_\w+\s*=\s*\d+(\s*,\s*price_\w+\s*=\s*\d+)*\s*$/, 'must look like price_a=10000,price_b=100000')
    .transform((s) => Object.fromEntries(s.split(',').map((kv) => {
      const [price, quantity] = kv.split('=').map((x) => x.trim()) as [string, string];
      return [price, Number(quantity)] as const;
    })))
    .default({}),

  BILLING_SERVICE_KEY: z.string().min(24, 'must be at least 24 characters').optional(),

  /** Usage is reported per customer and window of this many seconds (whole minutes, at most a day). */
  USAGE_REPORT_WINDOW_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(86_400)
    .refine((n) => n % 60 === 0, 'must be a whole number of minutes (a multiple of 60)')
    .default(3600),
  /** How long a reporter owns the batches it claimed; after that another reporter re-sends them. */
  USAGE_REPORT_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  /** Customers reported in parallel (each customer's events go one at a time, as Stripe asks). */
  USAGE_REPORT_CONCURRENCY: z.coerce.number().int().min(1).max(50).default(4),
});

type Env = z.infer<typeof schema>;

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
