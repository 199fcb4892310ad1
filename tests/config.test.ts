import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_JWT_SECRET, parseConfig } from '../shared/config.ts';

const fails = (env: Record<string, string>, variable: string) => {
  let caught: unknown;
  try {
    parseConfig(env);
  } catch (err) {
    caught = err;
  }
  expect(caught, variable).toBeInstanceOf(ConfigError);
  expect((caught as ConfigError).variable).toBe(variable);
  expect((caught as ConfigError).message.startsWith(variable)).toBe(true);
};

describe('config', () => {
  it('names the variable that is bad or missing', () => {
    fails({ URL: 'not a url' }, 'URL');
    fails({ RATE_LIMIT_USER: '100 per minute' }, 'RATE_LIMIT_USER');
    fails({ RATE_LIMIT_FAIL_CLOSED: 'maybe' }, 'RATE_LIMIT_FAIL_CLOSED');
    fails({ STRIPE_SECRET_KEY: 'pk_test_123' }, 'STRIPE_SECRET_KEY');
    fails({ STRIPE_PRICE_ID: 'prod_123' }, 'STRIPE_PRICE_ID');
    fails({ JWT_SECRET: 'short' }, 'JWT_SECRET');
    fails({ SUPABASE_URL: 'https://x.supabase.co' }, 'SUPABASE_SERVICE_ROLE_KEY');
    fails({ UPSTASH_REDIS_REST_URL: 'https://x.upstash.io' }, 'UPSTASH_REDIS_REST_TOKEN');
    // Replaced by catalogue.ts: refused rather than silently ignored.
    for (const name of ['PLAN_NAMES', 'USAGE_INCLUDED', 'STRIPE_PRICE_IDS']) {
      expect(() => parseConfig({ [name]: 'price_a=Basic' }), name).toThrow(`${name} is replaced by catalogue.ts`);
    }
    fails({ DATABASE_POOL_MAX: 'three' }, 'DATABASE_POOL_MAX');
    fails({ DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX');
    fails({ STRIPE_MAX_RETRIES: '1.5' }, 'STRIPE_MAX_RETRIES');
    fails({ STRIPE_MAX_RETRIES: '6' }, 'STRIPE_MAX_RETRIES');
    fails({ USAGE_REPORT_WINDOW_SECONDS: '90' }, 'USAGE_REPORT_WINDOW_SECONDS');
    fails({ STRIPE_METER_EVENT_NAME: '   ' }, 'STRIPE_METER_EVENT_NAME');
    fails({ DATABASE_URL: 'db.example.com/billing' }, 'DATABASE_URL');
  });

  it('reads numbers, booleans and trimmed names; an empty variable counts as unset', () => {
    const c = parseConfig({ DATABASE_POOL_MAX: ' 5 ', RATE_LIMIT_FAIL_CLOSED: 'yes', STRIPE_METER_EVENT_NAME: ' api_requests ', PAST_DUE_GRACE_DAYS: '' });
    expect(c.DATABASE_POOL_MAX).toBe(5);
    expect(c.RATE_LIMIT_FAIL_CLOSED).toBe(true);
    expect(c.STRIPE_METER_EVENT_NAME).toBe('api_requests');
    expect(c.PAST_DUE_GRACE_DAYS).toBe(7);
  });

  it('in production a missing auth setting is a start-up error; outside it the dev secret is used', () => {
    fails({ NODE_ENV: 'production' }, 'JWT_SECRET');
    fails({ CONTEXT: 'production' }, 'JWT_SECRET');
    expect(parseConfig({}).jwtSecret).toBe(DEV_JWT_SECRET);
    expect(parseConfig({ NODE_ENV: 'production', JWT_JWKS_URL: 'https://a.example/jwks.json' }).jwtSecret).toBeUndefined();
    expect(parseConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwtSecret).toBe('x'.repeat(32));
  });

  it('refuses the Stripe double in production', () => {
    fails({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), STRIPE_API_BASE: 'http://127.0.0.1:12111' }, 'STRIPE_API_BASE');
  });

  it('parses lists, rates and defaults', () => {
    const c = parseConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_a, whsec_b', RATE_LIMIT_ORG: '50/1d', ALLOWED_ORIGINS: 'https://a.example,https://b.example' });
    expect(c.STRIPE_WEBHOOK_SECRET).toEqual(['whsec_a', 'whsec_b']);
    expect(c.RATE_LIMIT_ORG).toEqual({ limit: 50, window: '1 d' });
    expect(c.RATE_LIMIT_USER).toEqual({ limit: 100, window: '1 m' });
    expect(c.ALLOWED_ORIGINS).toEqual(['https://a.example', 'https://b.example']);
    expect(c.BILLING_MANAGER_ROLES).toEqual(['owner', 'admin']);
    expect(c.PAST_DUE_GRACE_DAYS).toBe(7);
  });
});
