/**
 * Cold path: the first request of a fresh function process, in round trips (units of D),
 * with the links production has (cold-services.ts: TLS 1.3 everywhere, SCRAM to Postgres,
 * the TCP handshake costing D like any exchange). Per store configuration and endpoint, a
 * fresh `node` imports the deployment bundle (as coldstart.ts) and answers one request; the
 * first invocation is timed with every link at delay D and at 2D, and
 * (median at 2D - median at D) / D is the number of sequential round trips on its path:
 * handshakes, Postgres start-up and authentication, the JWKS fetch where configured, and
 * the request's own calls. (Not D and 0: at D the process's own work partly overlaps its
 * waits, at 0 it cannot, and a cold process has tens of ms of it; between D and 2D the
 * overlap is the same and cancels out.) The floor for a cold read is 3 (TCP, TLS 1.3, the request, the
 * links side by side).
 *
 * Budgets: at most 5 in every configuration; GET subscription at most 3 in the configuration
 * the README recommends for production (RECOMMENDED).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildLambdas, type BundleResult } from '../build-lambda.ts';
import { eventFor } from '../../tests/lambda/events.ts';
import { startColdServices, type ColdServices } from './cold-services.ts';
import { signedDelivery, type Fixtures } from './fixtures.ts';
import { childEnv, type Services } from './services.ts';
import { median, round, runChild } from './util.ts';

/** The store configuration the README recommends for production. */
export const RECOMMENDED = 'supabase-js (PostgREST over HTTPS)';
export const COLD_BUDGET = 5;
export const COLD_READ_BUDGET = 3;
/** Timer and scheduling noise allowed on a count before it is called over budget. */
export const COLD_SLACK = 0.3;

export interface ColdPathResult {
  configuration: string;
  endpoint: string;
  /** (median at 2D - median at D) / D. */
  roundTrips: number;
  budget: number;
  ok: boolean;
  medianMsAtD: number;
  medianMsAt2D: number;
  samples: number;
}

export interface ColdPathReport {
  delayMs: number;
  results: ColdPathResult[];
  skipped: Array<{ name: string; why: string }>;
  recommended: string;
}

const CHILD = [
  'const { handler } = await import(process.env.BENCH_BUNDLE);',
  'const t1 = performance.now();',
  "const r = await handler(JSON.parse(process.env.BENCH_EVENT), { awsRequestId: 'bench-cold-path', functionName: 'bench', getRemainingTimeInMillis: () => 10000 });",
  'const t2 = performance.now();',
  'process.stdout.write(JSON.stringify({ invokeMs: t2 - t1, status: r.statusCode, body: r.statusCode === 200 ? undefined : String(r.body).slice(0, 300) }));',
  'process.exit(0);',
].join('\n');

interface Case {
  endpoint: string;
  bundle: string;
  event(): Promise<unknown>;
  env?: Record<string, string | undefined>;
}

export async function measureColdPaths(
  svc: Services,
  fx: Fixtures,
  opts: { delayMs: number; samples: number; configurations?: string[]; endpoints?: string[]; log: (s: string) => void },
): Promise<ColdPathReport> {
  const dir = mkdtempSync(join(tmpdir(), 'billing-bench-cold-'));
  let cold: ColdServices | undefined;
  try {
    const [bundles, services] = await Promise.all([buildLambdas({ outdir: join(dir, 'functions') }), startColdServices(svc, dir, opts.log)]);
    cold = services;
    const c = cold;
    const bundle = (name: string): BundleResult => {
      const b = bundles.find((x) => x.name === name);
      if (!b) throw new Error(`no bundle for ${name}`);
      return b;
    };
    const ev = (method: string, path: string, headers: Array<[string, string]>, body?: string) =>
      eventFor('http-api', { method, path, headers, ...(body !== undefined ? { body } : {}) });
    const bearer = async (user: string): Promise<[string, string]> => ['authorization', `Bearer ${await svc.hsToken({ sub: user })}`];
    const json: [string, string] = ['content-type', 'application/json'];
    const cases: Case[] = [
      { endpoint: 'GET subscription', bundle: 'subscription', event: async () => ev('GET', '/api/stripe/subscription', [await bearer(fx.subscribed.user)]) },
      {
        endpoint: 'GET subscription (JWKS token)',
        bundle: 'subscription',
        event: async () => ev('GET', '/api/stripe/subscription', [['authorization', `Bearer ${await svc.jwks.sign({ sub: fx.subscribed.user })}`]]),
        env: { JWT_SECRET: undefined, JWT_JWKS_URL: c.jwksUrl },
      },
      { endpoint: 'GET usage', bundle: 'usage', event: async () => ev('GET', '/api/stripe/usage', [await bearer(fx.subscribed.user)]) },
      { endpoint: 'POST checkout (known customer)', bundle: 'checkout', event: async () => ev('POST', '/api/stripe/checkout', [await bearer(fx.customer.user), json], '{}') },
      {
        endpoint: 'POST webhook',
        bundle: 'webhook',
        event: async () => {
          const d = signedDelivery(svc.double, fx.webhookEvent());
          return ev('POST', '/api/stripe/webhook', Object.entries(d.headers), d.body);
        },
      },
    ].filter((x) => !opts.endpoints || opts.endpoints.includes(x.endpoint));
    const configurations = c.configurations.filter((x) => !opts.configurations || opts.configurations.includes(x.name));

    // BENCH_COLD_TRACE=1: each run's chunks through the proxies, in units of D (where the round trips go).
    const tracing = process.env.BENCH_COLD_TRACE === '1';
    const runOnce = async (conf: (typeof configurations)[number], k: Case, delay: number): Promise<number> => {
      c.setDelay(delay);
      const trace = tracing && delay === opts.delayMs ? c.trace() : undefined;
      const r = await runChild(process.execPath, ['--input-type=module', '-e', CHILD], {
        cwd: dir,
        env: childEnv({ ...svc.env({ ...c.env, ...conf.env, ...k.env }), BENCH_BUNDLE: pathToFileURL(bundle(k.bundle).file).href, BENCH_EVENT: JSON.stringify(await k.event()) }),
        timeoutMs: 30_000,
      });
      if (r.code !== 0) throw new Error(`cold path of ${k.endpoint} (${conf.name}) failed (${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr.slice(-1500)}`);
      const m = JSON.parse(r.stdout) as { invokeMs: number; status: number; body?: string };
      if (trace) {
        const seen = trace();
        const start = seen[0]?.atMs ?? 0;
        opts.log(`  trace ${conf.name} / ${k.endpoint}: ${round(m.invokeMs / delay, 1)} D\n` +
          seen.map((x) => `    ${round((x.atMs - start) / delay, 2).toFixed(2)} D ${x.link}#${x.connection} ${x.direction} ${x.bytes} B`).join('\n'));
      }
      if (m.status !== 200) throw new Error(`cold path of ${k.endpoint} (${conf.name}) answered ${m.status}: ${m.body}`);
      return m.invokeMs;
    };

    const times = new Map<string, { atD: number[]; at2D: number[] }>();
    const key = (conf: string, endpoint: string) => `${conf}\n${endpoint}`;
    // One unmeasured pass warms the OS file cache (not in a one-sample run).
    for (let pass = opts.samples > 1 ? 0 : 1; pass <= opts.samples; pass++) {
      for (const conf of configurations) {
        for (const k of cases) {
          const D = opts.delayMs;
          for (const delay of pass % 2 ? [2 * D, D] : [D, 2 * D]) {
            const ms = await runOnce(conf, k, delay);
            if (pass === 0) continue;
            const t = times.get(key(conf.name, k.endpoint)) ?? { atD: [], at2D: [] };
            (delay === D ? t.atD : t.at2D).push(ms);
            times.set(key(conf.name, k.endpoint), t);
          }
        }
      }
    }
    c.setDelay(0);

    const results: ColdPathResult[] = [];
    for (const conf of configurations) {
      for (const k of cases) {
        const t = times.get(key(conf.name, k.endpoint))!;
        const atD = median(t.atD);
        const at2D = median(t.at2D);
        const roundTrips = round((at2D - atD) / opts.delayMs, 1);
        const budget = conf.name === RECOMMENDED && k.endpoint === 'GET subscription' ? COLD_READ_BUDGET : COLD_BUDGET;
        results.push({
          configuration: conf.name,
          endpoint: k.endpoint,
          roundTrips,
          budget,
          ok: roundTrips <= budget + COLD_SLACK,
          medianMsAtD: round(atD, 1),
          medianMsAt2D: round(at2D, 1),
          samples: t.atD.length,
        });
      }
    }
    for (const r of results) {
      opts.log(
        `  ${r.configuration.padEnd(44)} ${r.endpoint.padEnd(32)} ${String(r.roundTrips).padStart(4)} D  (budget ${r.budget}${r.ok ? '' : ', OVER'})` +
          `  ${r.medianMsAtD} ms at D, ${r.medianMsAt2D} ms at 2D`,
      );
    }
    return { delayMs: opts.delayMs, results, skipped: c.skipped, recommended: RECOMMENDED };
  } finally {
    await cold?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
