/**
 * `npm run plans -- diff | push` against the Stripe double, through the real stripe-node SDK:
 * Stripe is made to match the catalogue, idempotently, and nothing is ever deleted.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import shipped from '../../catalogue.ts';
import { startStripeDouble, type StripeDouble } from '../../dev/stripe-double/index.ts';
import { CATALOGUE_MARK as MANAGED, parseCatalogue, type CatalogueInput } from '../../shared/catalogue.ts';
import { syncCatalogue } from '../../scripts/plans/sync.ts';

const KEY = 'sk_test_plans_suite';
let double: StripeDouble;
let stripe: Stripe;
beforeEach(async () => {
  double = await startStripeDouble({ port: 0, apiKey: KEY });
  stripe = new Stripe(KEY, { ...double.clientConfig, maxNetworkRetries: 0 });
});
afterEach(() => double.close());

const push = (c: CatalogueInput, apply = true) => syncCatalogue(stripe, parseCatalogue(c), apply).then((r) => r.changes);
const withPro = (unitAmount: number): CatalogueInput => ({
  ...shipped,
  plans: shipped.plans.map((p) => (p.key === 'pro' ? { ...p, prices: [{ ...p.prices[0]!, unitAmount }] } : p)),
});
const attached = async (product: string) =>
  (await stripe.products.listFeatures(product, { limit: 100 })).data.map((pf) => pf.entitlement_feature.lookup_key).sort();

describe('npm run plans', () => {
  it("on a fresh double (its products and prices are catalogue.ts's): adds the features and the portal configuration, then nothing", async () => {
    const planned = await push(shipped, false);
    expect(planned.filter((l) => /product|price/.test(l) && !l.includes('portal') && !l.includes('feature'))).toEqual([]);
    expect(planned).toContain('create feature exports');
    expect(planned).toContain('attach feature api_access to pro');
    expect(planned.some((l) => l.startsWith('create portal configuration'))).toBe(true);
    // diff changed nothing
    expect((await stripe.entitlements.features.list()).data).toEqual([]);

    expect(await push(shipped)).toEqual(planned);
    expect(await push(shipped)).toEqual([]);
    expect(await attached('pro')).toEqual(['api_access', 'custom_events', 'email_support', 'events', 'exports', 'realtime_dashboard']);
    expect(await attached('basic')).toEqual(['email_support', 'events', 'exports', 'realtime_dashboard']);
    const configs = (await stripe.billingPortal.configurations.list()).data.filter((c) => c.metadata?.catalogue === MANAGED);
    expect(configs).toHaveLength(1);
    const update = configs[0]!.features.subscription_update as Stripe.BillingPortal.Configuration.Features.SubscriptionUpdate & { products?: Array<{ product: string; prices: string[] }> };
    expect(update.enabled).toBe(true);
    expect(update.products).toEqual([{ product: 'basic', prices: ['price_basic_monthly'] }, { product: 'pro', prices: ['price_pro_monthly'] }]);
  });

  it('a changed amount: a new price takes the lookup key, the old one is archived (not deleted); then nothing', async () => {
    await push(shipped);
    const changes = await push(withPro(3900));
    expect(changes).toContain('replace price pro_monthly: 2900 usd/month -> 3900 usd/month (new price takes the lookup key; price_pro_monthly archived)');
    const [now] = (await stripe.prices.list({ lookup_keys: ['pro_monthly'] })).data;
    expect(now).toMatchObject({ unit_amount: 3900, product: 'pro', active: true, recurring: { interval: 'month' } });
    expect(now!.id).not.toBe('price_pro_monthly');
    expect(await stripe.prices.retrieve('price_pro_monthly')).toMatchObject({ active: false, lookup_key: null, unit_amount: 2900 });
    // The portal now offers the new price.
    expect(changes.some((l) => l.startsWith('update portal configuration'))).toBe(true);
    expect(await push(withPro(3900))).toEqual([]);
    // Back to 2900: a third price (the archived one is never reused or deleted).
    expect(await push(withPro(2900))).toContain('replace price pro_monthly: 3900 usd/month -> 2900 usd/month (new price takes the lookup key; ' + now!.id + ' archived)');
    expect((await stripe.prices.list({ product: 'pro', limit: 100 })).data).toHaveLength(3);
  });

  it('a new plan gets its product (our id) and price; a dropped feature is detached, the feature itself kept', async () => {
    await push(shipped);
    const team = { key: 'team', name: 'Team', description: 'For teams.', prices: [{ lookupKey: 'team_yearly', interval: 'year' as const, currency: 'eur', unitAmount: 99000 }], features: { sso: true } };
    const next: CatalogueInput = { ...shipped, plans: [...shipped.plans.map((p) => (p.key === 'pro' ? { ...p, features: { ...p.features, api_access: false } } : p)), team] };
    const changes = await push(next);
    expect(changes).toEqual(expect.arrayContaining([
      'create product team (Team)',
      'create price team_yearly: 99000 eur/year on team',
      'create feature sso',
      'attach feature sso to team',
      'detach feature api_access from pro',
    ]));
    expect(await stripe.products.retrieve('team')).toMatchObject({ name: 'Team', description: 'For teams.', active: true });
    expect(await attached('pro')).not.toContain('api_access');
    expect((await stripe.entitlements.features.list({ lookup_key: 'api_access' })).data).toHaveLength(1);
    expect(await push(next)).toEqual([]);
  });

  it('the command: diff changes nothing, push prints what it did, a bad catalogue exits 1 naming the field', async () => {
    // A child process (the double answers from this one, so it must not be blocked).
    const run = (args: string[], env: Record<string, string> = {}) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../scripts/plans.ts'), ...args], {
          env: { ...process.env, DEV_NO_DOTENV: '1', NODE_ENV: 'test', STRIPE_SECRET_KEY: KEY, STRIPE_API_BASE: double.url, ...env },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    const diff = await run(['diff']);
    expect(diff.status, diff.stderr).toBe(0);
    expect(diff.stdout).toContain('would create feature exports');
    expect((await stripe.entitlements.features.list()).data).toEqual([]);
    const pushed = await run(['push']);
    expect(pushed.stdout).toMatch(/^create feature exports$/m);
    expect((await run(['push'])).stdout).toContain('matches the catalogue; nothing to change');

    const bad = await run(['diff'], { BILLING_CATALOGUE: JSON.stringify({ plans: [{ key: 'pro', name: 'Pro', prices: [{ lookupKey: 'p', interval: 'month', currency: 'USD', unitAmount: 1 }] }] }) });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('plans[pro].prices[0].currency must be a 3-letter ISO currency in lower case');
    expect((await run(['sync'])).status).toBe(2);
  });
});
