/**
 * Round trips: the same delay D on every remote dependency, and each endpoint's warm
 * latency in units of D, which is the number of sequential round trips on its path.
 *
 * - Postgres and the Stripe double sit behind delay proxies (dev/tcp-proxy.ts): every
 *   client->server chunk is held D, so one query or one Stripe call costs one D.
 * - The Upstash bridge holds every HTTP request D (`faults.setDelay`): one pipeline = one D.
 * - Tokens are ES256 from a JWKS URL, also behind a delay proxy: a JWKS fetch on a warm
 *   path would show as one more D.
 *
 * Each endpoint is warmed up first (connections, JWKS, Lua scripts), then sampled N times at
 * D = 0 and N times at D, interleaved across endpoints; the figure reported is
 * (median at D - median at 0) / D, the local work taken out. The handlers run in this
 * process and are called with real Requests, as the platform calls them.
 */
import checkout from '../../functions/checkout.ts';
import portal from '../../functions/portal.ts';
import subscription from '../../functions/subscription.ts';
import usage from '../../functions/usage.ts';
import webhook from '../../functions/webhook.ts';
import { startTcpProxy } from '../../dev/tcp-proxy.ts';
import { call, createFixtures, must, signedDelivery, type Called, type Fixtures } from './fixtures.ts';
import type { Services } from './services.ts';
import { median, round } from './util.ts';

export interface RoundTripResult {
  endpoint: string;
  /** Sequential round trips the budget allows. */
  budget: number;
  /** median(latency at D) / D, as the issue asks. */
  latencyOverD: number;
  /** (median at D - median at 0) / D: round trips with local work taken out. */
  roundTrips: number;
  medianMsAtD: number;
  medianMsAt0: number;
  /**
   * Client->server writes per request seen at each service (HTTP requests at the bridge,
   * chunks through the proxies): sequential ones are round trips, e.g. postgres 2 is
   * postgres.js's describe-then-execute for a query with a bound parameter.
   */
  writes: { redis: number; postgres: number; stripe: number; jwks: number };
}

interface Case {
  endpoint: string;
  budget: number;
  run(): Promise<Called>;
}

export async function measureRoundTrips(
  svc: Services,
  opts: { delayMs: number; samples: number; warmup: number; log: (s: string) => void },
): Promise<{ results: RoundTripResult[]; fixtures: Fixtures }> {
  const D = opts.delayMs;
  const pgProxy = await startTcpProxy({ target: { host: '127.0.0.1', port: svc.pgPort } });
  const stripeProxy = await startTcpProxy({ target: { host: '127.0.0.1', port: svc.double.port } });
  const jwksProxy = await startTcpProxy({ target: { host: '127.0.0.1', port: svc.jwks.port } });
  const setDelay = (ms: number) => {
    pgProxy.setDelay(ms);
    stripeProxy.setDelay(ms);
    jwksProxy.setDelay(ms);
    svc.bridge.faults.setDelay(ms);
  };
  try {
    svc.applyEnv({
      DATABASE_URL: pgProxy.rewriteUrl(svc.databaseUrl),
      STRIPE_API_BASE: stripeProxy.rewriteUrl(svc.double.url),
      JWT_SECRET: undefined,
      JWT_JWKS_URL: jwksProxy.rewriteUrl(svc.jwks.url),
    });
    const fx = await createFixtures(svc.double, svc.jwks.sign);
    const tSub = await svc.jwks.sign({ sub: fx.subscribed.user });
    const tOrg = await svc.jwks.sign({ sub: fx.subscribed.user, org: fx.org.id, role: 'owner' });
    const tCus = await svc.jwks.sign({ sub: fx.customer.user });
    const cases: Case[] = [
      { endpoint: 'GET subscription', budget: 1, run: () => call(subscription, 'GET', '/api/stripe/subscription', { token: tSub }) },
      // Two limiters (user and organization), one pipeline: still one round trip.
      { endpoint: 'GET subscription (org)', budget: 1, run: () => call(subscription, 'GET', '/api/stripe/subscription', { token: tOrg }) },
      { endpoint: 'GET usage', budget: 1, run: () => call(usage, 'GET', '/api/stripe/usage', { token: tSub }) },
      { endpoint: 'POST checkout', budget: 2, run: () => call(checkout, 'POST', '/api/stripe/checkout', { token: tCus, body: '{}' }) },
      { endpoint: 'POST portal', budget: 2, run: () => call(portal, 'POST', '/api/stripe/portal', { token: tSub, body: '{}' }) },
      { endpoint: 'POST webhook', budget: 2, run: () => call(webhook, 'POST', '/api/stripe/webhook', signedDelivery(svc.double, fx.webhookEvent())) },
      { endpoint: 'POST usage (100 records)', budget: 1, run: () => call(usage, 'POST', '/api/stripe/usage', { body: fx.usageBody(100), headers: fx.serviceHeaders }) },
    ];
    const check = async (c: Case) => {
      const r = must(c.endpoint, await c.run());
      if (c.endpoint === 'POST checkout' && !r.body?.url) throw new Error(`checkout: no url in ${r.text}`);
      if (c.endpoint === 'POST webhook' && r.body?.duplicate) throw new Error('webhook: the sampled event was a duplicate');
    };

    const samples = new Map<string, { at0: number[]; atD: number[] }>(cases.map((c) => [c.endpoint, { at0: [], atD: [] }]));
    const counts = new Map<string, RoundTripResult['writes']>();
    for (const delay of [0, D]) {
      setDelay(delay);
      // Warm-up at this delay: connections (pool, keep-alive), the JWKS, the limiter's scripts.
      for (let i = 0; i < opts.warmup; i++) for (const c of cases) await check(c);
      for (let i = 0; i < opts.samples; i++) {
        for (const c of cases) {
          const before = { redis: svc.bridge.stats.requests, postgres: pgProxy.stats.chunksUp, stripe: stripeProxy.stats.chunksUp, jwks: jwksProxy.stats.chunksUp };
          const t = performance.now();
          await check(c);
          const ms = performance.now() - t;
          const s = samples.get(c.endpoint)!;
          (delay === 0 ? s.at0 : s.atD).push(ms);
          if (delay === D) {
            const acc = counts.get(c.endpoint) ?? { redis: 0, postgres: 0, stripe: 0, jwks: 0 };
            acc.redis += svc.bridge.stats.requests - before.redis;
            acc.postgres += pgProxy.stats.chunksUp - before.postgres;
            acc.stripe += stripeProxy.stats.chunksUp - before.stripe;
            acc.jwks += jwksProxy.stats.chunksUp - before.jwks;
            counts.set(c.endpoint, acc);
          }
        }
      }
    }
    setDelay(0);
    const results = cases.map((c): RoundTripResult => {
      const s = samples.get(c.endpoint)!;
      const at0 = median(s.at0);
      const atD = median(s.atD);
      const n = counts.get(c.endpoint)!;
      const per = (x: number) => round(x / opts.samples, 1);
      return {
        endpoint: c.endpoint,
        budget: c.budget,
        latencyOverD: round(atD / D, 1),
        roundTrips: round((atD - at0) / D, 1),
        medianMsAtD: round(atD, 1),
        medianMsAt0: round(at0, 2),
        writes: { redis: per(n.redis), postgres: per(n.postgres), stripe: per(n.stripe), jwks: per(n.jwks) },
      };
    });
    for (const r of results) {
      opts.log(
        `  ${r.endpoint.padEnd(26)} ${String(r.roundTrips).padStart(4)} D  (latency/D ${r.latencyOverD}, ${r.medianMsAtD} ms at D, ${r.medianMsAt0} ms at 0)` +
          `  budget ${r.budget}  writes: redis ${r.writes.redis}, postgres ${r.writes.postgres}, stripe ${r.writes.stripe}, jwks ${r.writes.jwks}` +
          (r.roundTrips > r.budget + 0.2 ? '  OVER' : ''),
      );
    }
    return { results, fixtures: fx };
  } finally {
    setDelay(0);
    // Back to the services directly; the proxies' connections close with them.
    svc.applyEnv();
    await Promise.all([pgProxy.close(), stripeProxy.close(), jwksProxy.close()]);
  }
}
