/**
 * Soak: realistic traffic at a fixed rate for a bounded time against local services this
 * script starts itself, then a consistency check. Nothing lost, memory stable, no
 * unexpected errors.
 *
 *   npx tsx scripts/soak.ts [--seconds 60] [--rate 50] [--users 1500] [--orgs 40] [--report-every 3]
 *
 * What runs (all on 127.0.0.1, all stopped at the end):
 * - embedded Postgres (dev/postgres.ts) in a temporary folder, migrations applied;
 * - redis-server with the Upstash bridge (dev/redis) in front;
 * - the Stripe double, delivering signed webhooks to the app;
 * - the app: every handler served over HTTP in a child process of its own (so its memory is
 *   measured alone), both path families, running the usage reporter every few seconds.
 * This process is the load generator: an open loop at --rate requests per second (each
 * request starts on schedule, whatever the others do), mixing GET subscription and usage for
 * many users and organizations, checkouts completed through the double (which then sends its
 * webhooks), portal sessions, subscription changes made at Stripe, usage POST batches (some
 * sent twice, as a retrying ingestion service does), and a few requests that must fail with
 * a 4xx. Every answer is checked against what that request should get.
 *
 * Reports requests sent / ok / expected 4xx / unexpected, latency p50 and p99 (per kind and
 * overall), the app's RSS and heap (after a GC) at start, middle and end, the reporter's
 * totals, and a final check: our subscriptions equal the double's, every customer link is a
 * real customer, every webhook was answered 200, and for every linked customer the ledger
 * equals Stripe's meter event summaries and is all reported. Exit code 1 on any unexpected
 * answer or mismatch.
 */
import { toRequest } from '../dev/serve.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import Stripe from 'stripe';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    rate: { type: 'string', default: '50' },
    users: { type: 'string', default: '1500' },
    orgs: { type: 'string', default: '40' },
    'report-every': { type: 'string', default: '3' },
    // Internal: the app child.
    serve: { type: 'boolean', default: false },
  },
});

const JWT_SECRET = 'soak-jwt-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const SERVICE_KEY = 'soak-service-key-0123456789abcdef';
const WEBHOOK_SECRET = 'whsec_soak_0123456789';

if (args.serve) await serveApp();
else await main();

// ---------------------------------------------------------------------------------------
// The app child: the handlers over HTTP, the reporter on a timer, and a few /__soak routes.

async function serveApp(): Promise<void> {
  const [{ default: checkout }, { default: portal }, { default: subscription }, { default: usage }, { default: webhook }] = await Promise.all([
    import('../functions/checkout.ts'),
    import('../functions/portal.ts'),
    import('../functions/subscription.ts'),
    import('../functions/usage.ts'),
    import('../functions/webhook.ts'),
  ]);
  const { config } = await import('../shared/config.ts');
  const { createLogger } = await import('../shared/log.ts');
  const { runUsageReport } = await import('../shared/usage/run.ts');
  const { reportHealthy } = await import('../shared/usage/report.ts');
  const handlers: Record<string, (req: Request, ctx?: object) => Promise<Response>> = { checkout, portal, subscription, usage, webhook };

  const log = createLogger({ function: 'usage-report' });
  const totals = { runs: 0, claimed: 0, reported: 0, duplicates: 0, deferred: 0, failed: 0, stripeCalls: 0, errors: 0, stoppedEarly: 0 };
  let running: Promise<unknown> | null = null;
  const reportOnce = async () => {
    const r = await runUsageReport(config(), log, { timeBudgetMs: 2_500 });
    totals.runs++;
    for (const k of ['claimed', 'reported', 'duplicates', 'deferred', 'failed', 'stripeCalls'] as const) totals[k] += r[k];
    totals.errors += r.errors.length;
    if (!reportHealthy(r)) totals.stoppedEarly++;
    return r;
  };
  const tick = () => {
    running ??= reportOnce().catch(() => void totals.errors++).finally(() => {
      running = null;
    });
  };
  const timer = setInterval(tick, Number(args['report-every']) * 1000);

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/__soak/memory') {
        if (url.searchParams.get('gc') && typeof globalThis.gc === 'function') globalThis.gc();
        return sendJson(res, 200, process.memoryUsage());
      }
      if (url.pathname === '/__soak/reporter') return sendJson(res, 200, totals);
      if (url.pathname === '/__soak/report-all') {
        clearInterval(timer);
        await running;
        const runs = [];
        for (let i = 0; i < 20; i++) {
          const r = await reportOnce();
          runs.push({ claimed: r.claimed, reported: r.reported, stopped: r.stopped });
          if (r.claimed === 0) break;
        }
        return sendJson(res, 200, { runs, totals });
      }
      const m = /^\/api\/(stripe|billing)\/([a-z]+)$/.exec(url.pathname);
      const handler = m ? handlers[m[2]!] : undefined;
      if (!handler) return sendJson(res, 404, { error: 'not found' });
      const response = await handler(await toRequest(req, `http://${req.headers.host ?? '127.0.0.1'}`), {});
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(Buffer.from(await response.arrayBuffer()));
    } catch (err) {
      // A handler never throws (it answers 500 itself); this would be a bug in the harness.
      console.error(JSON.stringify({ level: 'error', event: 'soak_server_error', message: String(err) }));
      if (!res.headersSent) sendJson(res, 500, { error: 'soak server error' });
    }
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  console.log(JSON.stringify({ listening: (server.address() as { port: number }).port }));
  const stop = () => {
    clearInterval(timer);
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ---------------------------------------------------------------------------------------
// The load generator.

type Kind =
  | 'GET subscription' | 'GET usage' | 'GET usage ?source=stripe' | 'POST usage' | 'POST usage (re-sent)'
  | 'POST checkout' | 'POST portal' | 'expected 4xx';

interface KindStats {
  ok: number;
  expected4xx: number;
  unexpected: number;
  latencies: number[];
}

interface Account {
  id: string; // user:<sub> or org:<id>
  /** Token of someone who may act for it (the user, or an org owner). */
  token: string;
  /** Token of an org member who is not a billing manager (orgs only). */
  memberToken?: string;
  /** Our belief, from what went through the double. */
  subscription: string | null;
  busy: boolean;
}

async function main(): Promise<void> {
  const seconds = Number(args.seconds);
  const rate = Number(args.rate);
  const userCount = Number(args.users);
  const orgCount = Number(args.orgs);
  if (![seconds, rate, userCount, orgCount].every((n) => Number.isFinite(n) && n > 0)) {
    console.error('soak: --seconds, --rate, --users and --orgs must be positive numbers');
    process.exit(2);
  }

  const { startLocalPostgres } = await import('../dev/postgres.ts');
  const { freePort } = await import('../dev/ports.ts');
  const { findRedisServer, startRedisServer } = await import('../dev/redis/redis-server.ts');
  const { startUpstashBridge } = await import('../dev/redis/upstash-bridge.ts');
  const { startStripeDouble } = await import('../dev/stripe-double/index.ts');
  const { signDevToken } = await import('../dev/token.ts');
  const { migrate } = await import('./migrate.ts');
  const { childEnv } = await import('./bench/services.ts');
  const { percentile, round, sleep, startChild } = await import('./bench/util.ts');

  if (!findRedisServer()) {
    console.error('soak: redis-server is not on PATH (Debian: apt-get install redis-server)');
    process.exit(2);
  }

  const stops: Array<() => Promise<unknown>> = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const s of stops.reverse()) await s().catch((err) => console.error('soak: cleanup:', err));
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

  const say = (line: string) => console.log(line);
  const startedAt = Date.now();
  try {
    // Services.
    const dir = mkdtempSync(join(tmpdir(), 'billing-soak-pg-'));
    stops.push(async () => rmSync(dir, { recursive: true, force: true }));
    const pg = await startLocalPostgres({ dir, port: await freePort(), persistent: false });
    stops.push(() => pg.stop());
    await pg.createDatabase('soak');
    const databaseUrl = pg.url('soak');
    await migrate(databaseUrl);
    const redis = await startRedisServer({ port: 0 });
    stops.push(() => redis.stop());
    const bridge = await startUpstashBridge({ redisUrl: redis.url, token: 'soak-token' });
    stops.push(() => bridge.close());
    const double = await startStripeDouble({ port: 0 });
    stops.push(() => double.close());

    // The app, in its own process.
    const env = childEnv({
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      URL: 'http://localhost:8888',
      JWT_SECRET,
      DATABASE_URL: databaseUrl,
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      STRIPE_SECRET_KEY: double.apiKey,
      STRIPE_API_BASE: double.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_PRICE_ID: double.seed.prices.basic,
      STRIPE_METER_ID: double.seed.meter,
      STRIPE_METER_EVENT_NAME: double.seed.meterEventName,
      BILLING_SERVICE_KEY: SERVICE_KEY,
      USAGE_REPORT_WINDOW_SECONDS: '60',
    });
    const app = await startChild<{ listening: number }>(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--serve', '--report-every', String(args['report-every'])],
      { env },
    );
    stops.push(() => app.stop());
    const appUrl = `http://127.0.0.1:${app.ready.listening}`;
    double.setWebhook({ url: `${appUrl}/api/stripe/webhook`, secret: WEBHOOK_SECRET });
    // The app logs JSON lines on stderr: warnings and errors are counted by event.
    const appLog = { warn: new Map<string, number>(), error: new Map<string, number>(), samples: [] as string[] };
    let stderrBuf = '';
    app.child.stderr!.on('data', (d: Buffer) => {
      stderrBuf += d.toString();
      let nl: number;
      while ((nl = stderrBuf.indexOf('\n')) >= 0) {
        const line = stderrBuf.slice(0, nl);
        stderrBuf = stderrBuf.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { level?: string; event?: string };
          const bucket = entry.level === 'error' ? appLog.error : appLog.warn;
          bucket.set(entry.event ?? '?', (bucket.get(entry.event ?? '?') ?? 0) + 1);
          if (appLog.samples.length < 5) appLog.samples.push(line.slice(0, 300));
        } catch {
          if (line.trim() && appLog.samples.length < 5) appLog.samples.push(line.slice(0, 300));
        }
      }
    });

    const memory = async (label: string) => {
      const m = (await (await fetch(`${appUrl}/__soak/memory?gc=1`)).json()) as NodeJS.MemoryUsage;
      return { label, rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), externalMiB: mib(m.external) };
    };

    // Accounts: users, and organizations with an owner and a plain member.
    const accounts: Account[] = [];
    for (let i = 0; i < userCount; i++) {
      const sub = `soak_u${i}`;
      accounts.push({ id: `user:${sub}`, token: await signDevToken({ sub, email: `${sub}@example.com`, expiresIn: '2h' }, JWT_SECRET), subscription: null, busy: false });
    }
    for (let i = 0; i < orgCount; i++) {
      const org = `soak_org${i}`;
      accounts.push({
        id: `org:${org}`,
        token: await signDevToken({ sub: `${org}_owner`, org, role: 'owner', expiresIn: '2h' }, JWT_SECRET),
        memberToken: await signDevToken({ sub: `${org}_member`, org, role: 'member', expiresIn: '2h' }, JWT_SECRET),
        subscription: null,
        busy: false,
      });
    }

    say(`soak: ${seconds} s at ${rate} req/s against ${appUrl}; ${userCount} users, ${orgCount} organizations; services up in ${Date.now() - startedAt} ms`);

    // Warm up (cold imports, first connections) before the first memory sample.
    for (const a of accounts.slice(0, 5)) await fetch(`${appUrl}/api/stripe/subscription`, { headers: { authorization: `Bearer ${a.token}` } });
    const samples = [await memory('start')];

    const stats = new Map<Kind, KindStats>();
    const statsOf = (k: Kind) => {
      let s = stats.get(k);
      if (!s) stats.set(k, (s = { ok: 0, expected4xx: 0, unexpected: 0, latencies: [] }));
      return s;
    };
    const unexpected: string[] = [];
    const side = { checkoutsCompleted: 0, abandoned: 0, replayedSessions: 0, lifecycleChanges: 0 };
    const sideErrors: string[] = [];
    const sentBatches: Array<{ records: unknown[] }> = [];
    let seq = 0;
    const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
    const rnd = Math.random;
    const users = accounts.filter((a) => a.id.startsWith('user:'));
    const orgs = accounts.filter((a) => a.id.startsWith('org:'));
    /** Any account: an organization one time in five (they are fewer, and busier). */
    const anyAccount = () => (rnd() < 0.2 ? pick(orgs) : pick(users));

    /** One HTTP request to the app, checked against what it should answer. */
    const request = async (kind: Kind, method: string, path: string, opts: { token?: string; service?: boolean; body?: unknown }, expect: (status: number, body: any) => 'ok' | 'expected4xx' | string) => {
      const s = statsOf(kind);
      const headers: Record<string, string> = {};
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.service) headers.authorization = `Bearer ${SERVICE_KEY}`;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const started = performance.now();
      let status = 0;
      let body: any;
      try {
        const res = await fetch(`${appUrl}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(15_000) });
        status = res.status;
        const text = await res.text();
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
      } catch (err) {
        body = String(err);
      }
      s.latencies.push(performance.now() - started);
      const verdict = expect(status, body);
      if (verdict === 'ok') s.ok++;
      else if (verdict === 'expected4xx') s.expected4xx++;
      else {
        s.unexpected++;
        if (unexpected.length < 20) unexpected.push(`${kind} ${method} ${path} -> ${status}: ${verdict} ${JSON.stringify(body).slice(0, 200)}`);
      }
      return { status, body };
    };

    const dialect = () => (rnd() < 0.5 ? 'stripe' : 'billing');
    const data = (d: string, body: any) => (d === 'billing' ? body?.data : body);
    const errorCode = (body: any) => body?.error?.code ?? body?.code;

    const free = () => accounts.filter((a) => !a.busy && !a.subscription);
    const subscribed = () => accounts.filter((a) => !a.busy && a.subscription);

    /** Starts a checkout, completes it at the double (its webhooks reach the app), and remembers the subscription. */
    const checkoutFlow = async () => {
      const idle = free();
      const a = pick(idle.length ? idle : accounts.filter((x) => !x.busy));
      if (!a) return;
      a.busy = true;
      try {
        const d = dialect();
        const wantsRefusal = Boolean(a.subscription);
        const { status, body } = await request('POST checkout', 'POST', `/api/${d}/checkout`, { token: a.token, body: rnd() < 0.3 ? { priceId: double.seed.prices.pro } : {} }, (st, b) => {
          if (wantsRefusal) return st === 400 && errorCode(b) === 'BAD_REQUEST' ? 'expected4xx' : 'wanted 400 Already subscribed';
          return st === 200 && typeof data(d, b)?.url === 'string' ? 'ok' : 'wanted 200 with a url';
        });
        if (status !== 200) return;
        const sessionId = data(d, body).sessionId as string;
        // Within 30 s the same account and parameters get the same session back (double-click
        // protection): one it already paid for or left open. Only an open one can be paid.
        if (double.state.sessions.get(sessionId)?.status !== 'open') {
          side.replayedSessions++;
          return;
        }
        // Most people pay; some leave the page (the session stays open until Stripe expires it).
        if (rnd() < 0.85) {
          const done = await double.actions.completeCheckout(sessionId);
          side.checkoutsCompleted++;
          a.subscription = done.subscription.id;
        } else {
          side.abandoned++;
        }
      } catch (err) {
        sideErrors.push(`checkout flow: ${String(err)}`);
      } finally {
        a.busy = false;
      }
    };

    /** A change made at Stripe (the customer cancels, resumes, or is canceled now): its webhooks reach the app. */
    const lifecycle = async () => {
      const a = pick(subscribed());
      if (!a) return;
      a.busy = true;
      try {
        const sub = double.state.subscriptions.get(a.subscription!);
        if (!sub || sub.status === 'canceled') {
          a.subscription = null;
          return;
        }
        // Deliveries that fail are counted once, at the end (every one is in double.deliveries).
        const r = rnd();
        if (r < 0.45) await double.actions.scheduleCancel(sub.id, !sub.cancel_at_period_end);
        else if (r < 0.6) {
          await double.actions.cancelNow(sub.id);
          a.subscription = null;
        } else await double.actions.scheduleCancel(sub.id, false);
        side.lifecycleChanges++;
      } catch (err) {
        sideErrors.push(`lifecycle: ${String(err)}`);
      } finally {
        a.busy = false;
      }
    };

    const usageBatch = async () => {
      if (sentBatches.length && rnd() < 0.1) {
        // The ingestion service retries a batch it already sent: every record is a duplicate.
        const again = pick(sentBatches);
        const d = dialect();
        await request('POST usage (re-sent)', 'POST', `/api/${d}/usage`, { service: true, body: again }, (st, b) => {
          const body = data(d, b);
          return st === 200 && body?.accepted === 0 && body?.duplicates?.length === again.records.length ? 'ok' : 'wanted 200, all duplicates';
        });
        return;
      }
      const n = 1 + Math.floor(rnd() * 50);
      const now = Math.floor(Date.now() / 1000);
      const paying = subscribed();
      const records = Array.from({ length: n }, () => ({
        // Mostly accounts that pay (they use the product), some that never subscribed (kept pending).
        accountId: (rnd() < 0.7 && paying.length ? pick(paying) : anyAccount()).id,
        quantity: 1 + Math.floor(rnd() * 20),
        idempotencyKey: `soak-${process.pid}-${seq++}`,
        timestamp: now - Math.floor(rnd() * 300),
      }));
      const batch = { records };
      const d = dialect();
      const { status } = await request('POST usage', 'POST', `/api/${d}/usage`, { service: true, body: batch }, (st, b) => {
        const body = data(d, b);
        return st === 200 && body?.accepted === n && body?.duplicates?.length === 0 ? 'ok' : `wanted 200 accepted ${n}`;
      });
      if (status === 200) {
        sentBatches.push(batch);
        if (sentBatches.length > 200) sentBatches.shift();
      }
    };

    const bad4xx = async () => {
      const r = rnd();
      if (r < 0.3) {
        await request('expected 4xx', 'GET', '/api/billing/subscription', {}, (st, b) => (st === 401 && errorCode(b) === 'UNAUTHORIZED' ? 'expected4xx' : 'wanted 401'));
      } else if (r < 0.55) {
        await request('expected 4xx', 'POST', '/api/stripe/usage', { service: true, body: { records: [{ accountId: 'customer:1', quantity: 0, idempotencyKey: '' }] } }, (st, b) => (st === 400 && errorCode(b) === 'BAD_REQUEST' ? 'expected4xx' : 'wanted 400'));
      } else if (r < 0.8) {
        const org = pick(orgs);
        await request('expected 4xx', 'POST', '/api/stripe/checkout', { token: org.memberToken! }, (st, b) => (st === 403 && errorCode(b) === 'FORBIDDEN' ? 'expected4xx' : 'wanted 403'));
      } else {
        const a = pick(users.filter((x) => !x.subscription && !x.busy));
        if (!a) return;
        // No customer yet (or never subscribed): no portal. A concurrent checkout could change that: skip busy ones.
        await request('expected 4xx', 'POST', '/api/billing/portal', { token: a.token }, (st, b) => {
          if (st === 400 && errorCode(b) === 'BAD_REQUEST') return 'expected4xx';
          return st === 200 ? 'ok' : 'wanted 400 No active subscription';
        });
      }
    };

    const one = async () => {
      const r = rnd();
      if (r < 0.33) {
        const a = anyAccount();
        const d = dialect();
        await request('GET subscription', 'GET', `/api/${d}/subscription`, { token: rnd() < 0.2 && a.memberToken ? a.memberToken : a.token }, (st, b) =>
          st === 200 && typeof data(d, b)?.state === 'string' && data(d, b)?.accountId === a.id ? 'ok' : 'wanted 200 with the account state');
      } else if (r < 0.45) {
        const a = anyAccount();
        const d = dialect();
        const withStripe = rnd() < 0.1;
        await request(withStripe ? 'GET usage ?source=stripe' : 'GET usage', 'GET', `/api/${d}/usage${withStripe ? '?source=stripe' : ''}`, { token: a.token }, (st, b) => {
          const v = data(d, b);
          return st === 200 && v?.accountId === a.id && v.recorded >= v.reported && v.pending === v.recorded - v.reported ? 'ok' : 'wanted 200 with consistent totals';
        });
      } else if (r < 0.75) {
        await usageBatch();
      } else if (r < 0.85) {
        await checkoutFlow();
      } else if (r < 0.9) {
        const a = pick(subscribed());
        if (!a) return void (await bad4xx());
        const d = dialect();
        await request('POST portal', 'POST', `/api/${d}/portal`, { token: a.token, body: { returnUrl: '/settings' } }, (st, b) =>
          st === 200 && typeof data(d, b)?.url === 'string' ? 'ok' : 'wanted 200 with a url');
      } else if (r < 0.95) {
        await bad4xx();
      } else {
        // Not an app request: a change at Stripe, whose webhooks the app then receives.
        await lifecycle();
      }
    };

    // The open loop.
    const interval = 1000 / rate;
    const total = Math.round(seconds * rate);
    const inFlight = new Set<Promise<void>>();
    let maxInFlight = 0;
    let late = 0;
    const t0 = performance.now();
    // Memory: a quarter in (warm: every code path loaded), half way, and at the end.
    const marks = [{ at: 0.25, label: 'warm' }, { at: 0.5, label: 'middle' }];
    const pendingSamples: Array<Promise<Awaited<ReturnType<typeof memory>>>> = [];
    for (let i = 0; i < total; i++) {
      const at = t0 + i * interval;
      const wait = at - performance.now();
      if (wait > 1) await sleep(wait);
      else if (wait < -100) late++;
      const p = one().catch((err) => {
        sideErrors.push(`generator: ${String(err)}`);
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      maxInFlight = Math.max(maxInFlight, inFlight.size);
      if (marks.length && i >= total * marks[0]!.at) pendingSamples.push(memory(marks.shift()!.label));
    }
    await Promise.all(inFlight);
    const trafficMs = performance.now() - t0;
    samples.push(...(await Promise.all(pendingSamples)));

    // Let the events of API calls (delivered after the response, as Stripe does) arrive.
    await double.idle();
    const reportAll = (await (await fetch(`${appUrl}/__soak/report-all`, { method: 'POST' })).json()) as { runs: unknown[]; totals: Record<string, number> };
    samples.push(await memory('end'));

    // Consistency.
    const sql = postgres(databaseUrl, { max: 2, onnotice: () => undefined });
    stops.push(() => sql.end());
    const problems: string[] = [];

    const theirs = [...double.state.subscriptions.values()];
    const ours = await sql<{ id: string; customer_id: string; status: string; cancel_at_period_end: boolean; current_period_end: Date | null; price_id: string | null }[]>`
      select id, customer_id, status, cancel_at_period_end, current_period_end, price_id from billing_subscriptions`;
    const oursById = new Map(ours.map((r) => [r.id, r]));
    for (const t of theirs) {
      const o = oursById.get(t.id);
      const want = { customer: t.customer as string, status: t.status, cancel: t.cancel_at_period_end, end: (t.items.data[0]?.current_period_end ?? 0) * 1000, price: t.items.data[0]?.price.id ?? null };
      const got = o && { customer: o.customer_id, status: o.status, cancel: o.cancel_at_period_end, end: o.current_period_end?.getTime() ?? null, price: o.price_id };
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`subscription ${t.id}: ours ${JSON.stringify(got)} vs Stripe ${JSON.stringify(want)}`);
    }
    for (const o of ours) if (!double.state.subscriptions.has(o.id)) problems.push(`subscription ${o.id} is ours only`);

    const links = await sql<{ id: string; stripe_customer_id: string }[]>`select id, stripe_customer_id from billing_accounts where stripe_customer_id is not null`;
    for (const l of links) if (!double.state.customers.has(l.stripe_customer_id)) problems.push(`link ${l.id} -> ${l.stripe_customer_id}: no such customer`);

    const deliveries = double.deliveries;
    const failedDeliveries = deliveries.filter((x) => x.status !== 200);
    for (const x of failedDeliveries.slice(0, 5)) problems.push(`webhook ${x.type} ${x.eventId} answered ${x.status}`);

    const stripe = new Stripe(double.apiKey, { ...double.clientConfig, maxNetworkRetries: 0 });
    const ledger = await sql<{ customer: string; recorded: string; reported: string }[]>`
      select a.stripe_customer_id as customer, sum(r.quantity)::text as recorded,
             coalesce(sum(r.quantity) filter (where b.status = 'reported'), 0)::text as reported
      from billing_usage_records r
      join billing_accounts a on a.id = r.account_id and a.stripe_customer_id is not null
      left join billing_usage_batches b on b.id = r.batch_id
      group by a.stripe_customer_id`;
    const now = Math.floor(Date.now() / 1000);
    let ledgerTotal = 0;
    let stripeTotal = 0;
    for (const row of ledger) {
      const summaries = await stripe.billing.meters
        .listEventSummaries(double.seed.meter, { customer: row.customer, start_time: Math.floor((now - 86_400) / 60) * 60, end_time: Math.ceil((now + 3600) / 60) * 60 })
        .autoPagingToArray({ limit: 10_000 });
      const atStripe = summaries.reduce((sum, x) => sum + x.aggregated_value, 0);
      ledgerTotal += Number(row.recorded);
      stripeTotal += atStripe;
      if (atStripe !== Number(row.recorded) || Number(row.reported) !== Number(row.recorded)) {
        problems.push(`usage of ${row.customer}: ledger ${row.recorded} (reported ${row.reported}) vs Stripe ${atStripe}`);
      }
    }
    const [unlinked] = await sql<{ n: number; q: string | null }[]>`
      select count(*)::int as n, sum(quantity)::text as q from billing_usage_records r
      where not exists (select 1 from billing_accounts a where a.id = r.account_id and a.stripe_customer_id is not null)`;
    const identifiers = double.state.meterEvents.map((e) => e.identifier);
    if (new Set(identifiers).size !== identifiers.length) problems.push('a meter event identifier was accepted twice');
    const reporter = reportAll.totals;

    // Report.
    const all = [...stats.values()];
    const sum = (f: (s: KindStats) => number) => all.reduce((n, s) => n + f(s), 0);
    const allLatencies = all.flatMap((s) => s.latencies);
    const line = (cols: Array<string | number>, widths: number[]) => cols.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');
    const widths = [26, 6, 6, 9, 10, 8, 8];
    say('');
    say(`traffic: ${round(trafficMs / 1000)} s, ${total} operations on schedule, ${sum((s) => s.latencies.length)} of them requests to the app (${round(sum((s) => s.latencies.length) / (trafficMs / 1000))}/s; the rest are changes made at Stripe), max in flight ${maxInFlight}, started late (>100 ms) ${late}`);
    say(line(['kind', 'sent', 'ok', '4xx(exp)', 'unexpected', 'p50 ms', 'p99 ms'], widths));
    for (const [kind, s] of [...stats.entries()].filter(([, s]) => s.latencies.length > 0)) {
      say(line([kind, s.latencies.length, s.ok, s.expected4xx, s.unexpected, round(percentile(s.latencies, 0.5)), round(percentile(s.latencies, 0.99))], widths));
    }
    say(line(['all', sum((s) => s.latencies.length), sum((s) => s.ok), sum((s) => s.expected4xx), sum((s) => s.unexpected), round(percentile(allLatencies, 0.5)), round(percentile(allLatencies, 0.99))], widths));
    say('');
    say(`at Stripe: ${side.checkoutsCompleted} checkouts completed, ${side.abandoned} left open, ${side.replayedSessions} answered with an earlier session (30 s double-click window), ${side.lifecycleChanges} subscription changes; ${deliveries.length} webhooks delivered, ${failedDeliveries.length} not answered 200`);
    say(`usage reporter: ${reporter.runs} runs, ${reporter.reported} batches reported (${reporter.duplicates} already at Stripe), ${reporter.deferred} deferred, ${reporter.failed} failed, ${reporter.stripeCalls} Stripe calls, ${reporter.errors} errors`);
    say(`memory of the app process (after GC): ${samples.map((m) => `${m.label} rss ${m.rssMiB} MiB heap ${m.heapUsedMiB} MiB`).join('; ')}`);
    say(`app log: ${[...appLog.error].map(([e, n]) => `error ${e} x${n}`).concat([...appLog.warn].map(([e, n]) => `warn ${e} x${n}`)).join(', ') || 'no warnings or errors'}`);
    say('');
    say(`consistency: ${theirs.length} subscriptions at Stripe vs ${ours.length} ours; ${links.length} customer links; ` +
      `${ledger.length} customers with usage, ledger ${ledgerTotal} = Stripe ${stripeTotal}; ${identifiers.length} meter events; ` +
      `${unlinked?.n ?? 0} records (${unlinked?.q ?? 0} units) of accounts without a customer, kept pending`);
    for (const u of unexpected) say(`UNEXPECTED ${u}`);
    for (const e of sideErrors.slice(0, 10)) say(`SIDE ERROR ${e}`);
    for (const p of problems.slice(0, 20)) say(`MISMATCH ${p}`);
    if (appLog.error.size) for (const sample of appLog.samples) say(`APP LOG ${sample}`);
    const failed = sum((s) => s.unexpected) + sideErrors.length + problems.length + (appLog.error.get('unhandled_error') ?? 0);
    say(failed ? `FAILED: ${sum((s) => s.unexpected)} unexpected answers, ${sideErrors.length} side errors, ${problems.length} mismatches` : 'OK: no unexpected answers, state consistent with Stripe');
    await cleanup();
    process.exit(failed ? 1 : 0);
  } catch (err) {
    console.error('soak: failed:', err);
    await cleanup();
    process.exit(1);
  }
}

function mib(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
