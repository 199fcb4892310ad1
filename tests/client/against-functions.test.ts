/**
 * The browser client against the real functions, served over HTTP with real Postgres,
 * Redis and the Stripe double: what it returns and throws is what the endpoints answer.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type Stripe from 'stripe';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BillingError, createBillingClient } from '../../client/billing-client.ts';
import { checkoutSessionIdOf } from '../../dev/stripe-double/index.ts';
import { buildPrice } from '../../dev/stripe-double/objects/catalog.ts';
import { buildClient } from '../../scripts/build-client.ts';
import checkout from '../../functions/checkout.ts';
import plans from '../../functions/plans.ts';
import portal from '../../functions/portal.ts';
import subscription from '../../functions/subscription.ts';
import usage from '../../functions/usage.ts';
import { serve } from '../../dev/serve.ts';
import { tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { startStripeStack, type StripeSide } from '../helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
let app: Awaited<ReturnType<typeof serve>>;

beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
  const routes = { checkout, plans, portal, subscription, usage };
  app = await serve(
    Object.fromEntries(Object.entries(routes).flatMap(([name, h]) => [[`/api/billing/${name}`, h], [`/api/stripe/${name}`, h]])),
  );
});
afterAll(async () => {
  await app.close();
  await stop();
});

async function clientFor(sub: string, base = '/api/billing') {
  const token = await tokenFor({ sub, email: `${sub}@example.com` });
  return createBillingClient({ baseUrl: `${app.url}${base}`, getToken: () => token });
}

async function failure(promise: Promise<unknown>): Promise<BillingError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BillingError);
  return err as BillingError;
}

describe('the client over the real endpoints', () => {
  it('follows an account from no plan to active, with usage and a portal', async () => {
    const sub = uid('u');
    const billing = await clientFor(sub);
    await expect(billing.getSubscription()).resolves.toMatchObject({ accountId: `user:${sub}`, state: 'none', hasAccess: false, subscription: null });

    const visited: string[] = [];
    await billing.redirectToCheckout({ priceId: 'price_pro_monthly', successUrl: '/account.html?ok=1' }, { assign: (u) => void visited.push(u) });
    expect(visited).toEqual([expect.stringMatching(/\/c\/pay\/cs_/)]);
    const sessionId = /\/c\/pay\/(cs_\w+)/.exec(visited[0]!)![1]!;
    await s.double.actions.completeCheckout(sessionId);

    const now = await billing.getSubscription();
    expect(now).toMatchObject({ state: 'active', hasAccess: true, subscription: { plan: 'Pro', priceId: 'price_pro_monthly', cancelAtPeriodEnd: false } });
    const u = await billing.getUsage();
    expect(u).toMatchObject({ accountId: `user:${sub}`, recorded: 0, period: { source: 'subscription', start: now.subscription!.currentPeriodStart, end: now.subscription!.currentPeriodEnd } });
    await expect(billing.createPortal({ returnUrl: '/account.html' })).resolves.toEqual({ url: expect.stringMatching(/\/p\/session\/bps_/) });

    const again = await failure(billing.createCheckout());
    expect(again).toMatchObject({ code: 'ALREADY_SUBSCRIBED', status: 409, message: 'Already subscribed: change the plan or seats with POST /api/billing/subscription', details: { change: '/api/billing/subscription' }, requestId: expect.any(String) });
  });

  it('reads the plan catalogue with no signed-in user, in both dialects', async () => {
    for (const base of ['/api/billing', '/api/stripe']) {
      const billing = createBillingClient({ baseUrl: `${app.url}${base}`, getToken: () => null });
      const { plans: list } = await billing.getPlans();
      expect(list.map((p) => [p.key, p.prices.map((x) => x.id)])).toEqual([['basic', ['basic_monthly']], ['pro', ['pro_monthly']]]);
    }
  });

  it('throws the same errors from the flat dialect', async () => {
    const billing = await clientFor(uid('u'), '/api/stripe');
    const err = await failure(billing.createPortal());
    expect(err).toMatchObject({ code: 'BAD_REQUEST', status: 400, message: 'No active subscription', requestId: expect.any(String) });
    const bad = await failure(billing.createCheckout({ priceId: 'price_nope' }));
    expect(bad).toMatchObject({ code: 'BAD_REQUEST', message: 'Unknown price' });
  });

  it('throws UNAUTHORIZED with the request id for a bad token', async () => {
    const billing = createBillingClient({ baseUrl: `${app.url}/api/billing`, getToken: () => 'not-a-jwt' });
    const err = await failure(billing.getSubscription());
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(err.requestId).toMatch(/\S/);
  });

  it('gives retryAfter when the user is rate limited', async () => {
    stack.setEnv({ RATE_LIMIT_USER: '2/1m' });
    try {
      const billing = await clientFor(uid('u'));
      await billing.getSubscription();
      await billing.getSubscription();
      const err = await failure(billing.getSubscription());
      expect(err).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(err.retryAfter).toBeGreaterThan(0);
      expect(err.retryAfter).toBeLessThanOrEqual(60);
    } finally {
      stack.setEnv({ RATE_LIMIT_USER: undefined });
    }
  });
});

/** The SDK example of seed 1 (billing-api-overview.txt), verbatim. */
const SEED_EXAMPLE = `import { createBillingClient } from '@/lib/billing/client';
const billing = createBillingClient();
// Get subscription status
const subscription = await billing.getSubscription();
// Create checkout session
const session = await billing.createCheckout({
priceId: 'price_123',
successUrl: '/dashboard?success=true',
cancelUrl: '/pricing?canceled=true'
});`;

/** localStorage as a browser has it, for a page where Supabase keeps its session. */
class MemoryStorage {
  private items = new Map<string, string>();
  get length() { return this.items.size; }
  key(i: number) { return [...this.items.keys()][i] ?? null; }
  getItem(k: string) { return this.items.get(k) ?? null; }
  setItem(k: string, v: string) { this.items.set(k, String(v)); }
  removeItem(k: string) { this.items.delete(k); }
}

describe("seed 1's SDK example", () => {
  it('runs as written from @/lib/billing/client (README set-up) on a page signed in with Supabase', async () => {
    // An app as the README sets it up: the built client at src/lib/billing/client.js, `@/*` -> src/*.
    const dir = mkdtempSync(join(tmpdir(), 'seed-app-'));
    try {
      const lib = join(dir, 'src/lib/billing');
      await buildClient({ outDir: join(dir, 'dist'), siteDir: null });
      mkdirSync(lib, { recursive: true });
      copyFileSync(join(dir, 'dist/billing-client.js'), join(lib, 'client.js'));
      copyFileSync(join(dir, 'dist/billing-client.d.ts'), join(lib, 'client.d.ts'));
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { baseUrl: '.', paths: { '@/*': ['./src/*'] } } }));
      writeFileSync(join(dir, 'src/example.ts'), `${SEED_EXAMPLE}\nexport { subscription, session };\n`);

      // It type-checks against the declarations...
      const program = ts.createProgram([join(dir, 'src/example.ts')], {
        strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
        baseUrl: dir, paths: { '@/*': ['./src/*'] }, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [], noEmit: true,
      });
      expect(ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);
      // ...and a bundler resolves the path from the tsconfig.
      await build({ entryPoints: [join(dir, 'src/example.ts')], outfile: join(dir, 'out.mjs'), bundle: true, format: 'esm', logLevel: 'silent' });

      // The page: signed in with supabase-js, which keeps its session in localStorage.
      const sub = uid('u');
      const storage = new MemoryStorage();
      storage.setItem('sb-abcdefghijklmnop-auth-token', JSON.stringify({ access_token: await tokenFor({ sub }), token_type: 'bearer', expires_at: Math.floor(Date.now() / 1000) + 3600, refresh_token: 'r' }));
      vi.stubGlobal('localStorage', storage);
      vi.stubGlobal('location', { href: `${app.url}/dashboard`, origin: app.url, assign() {} });
      // The seed's price, the server's STRIPE_PRICE_ID; Stripe mints price ids, so it goes into the double's catalog directly.
      const pro = s.double.state.prices.get('price_pro_monthly')!;
      (s.double.state.prices as Map<string, Stripe.Price>).set('price_123', buildPrice('price_123', pro.created, { product: pro.product as string, currency: 'usd', unit_amount: 1900, recurring: { interval: 'month', interval_count: 1, usage_type: 'licensed', meter: null } }));
      stack.setEnv({ STRIPE_PRICE_ID: 'price_123' });

      const { subscription: status, session } = (await import(pathToFileURL(join(dir, 'out.mjs')).href)) as { subscription: { accountId: string; state: string }; session: { url: string } };
      expect(status).toMatchObject({ accountId: `user:${sub}`, state: 'none' });
      const created = await s.stripe.checkout.sessions.retrieve(checkoutSessionIdOf(session.url));
      expect(created).toMatchObject({ success_url: expect.stringMatching(/\/dashboard\?success=true$/), cancel_url: expect.stringMatching(/\/pricing\?canceled=true$/), metadata: { account_id: `user:${sub}` } });
    } finally {
      vi.unstubAllGlobals();
      stack.setEnv({ STRIPE_PRICE_ID: 'price_basic_monthly' });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
