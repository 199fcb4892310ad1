/**
 * Cold start: each function bundled as for deployment (scripts/build-lambda.ts's
 * `buildLambdas`: esbuild, ESM, minified, code behind dynamic imports split into chunks
 * loaded on first use), then, per sample, a fresh `node` process that imports the bundle
 * and answers one API Gateway (HTTP API, payload 2.0) event against the real local
 * services: "cold start" = import + first invocation, timed inside the process. A bare
 * function (a trivial handler, same adapter, same build) is measured in the same run, and
 * every figure is also given as a ratio to it. Samples run one at a time, round robin over
 * the functions, after one unmeasured pass (so the OS file cache is warm for all alike).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildLambdas, type BundleResult } from '../build-lambda.ts';
import { eventFor } from '../../tests/lambda/events.ts';
import type { Fixtures } from './fixtures.ts';
import { signedDelivery } from './fixtures.ts';
import { childEnv, type Services } from './services.ts';
import { median, ROOT, round, runChild } from './util.ts';

export interface ColdStartResult {
  /** Case name: function and request. */
  name: string;
  function: string;
  /** Bytes a cold start loads: the entry and its static imports (not lazily loaded chunks). */
  bytes: number;
  gzipBytes: number;
  /** Packages in what a cold start loads. */
  loadedPackages: string[];
  /** Bytes loaded at cold start by package, largest first. */
  loadedBytesByPackage: Record<string, number>;
  loadsStripe: boolean;
  importMs: number;
  firstInvocationMs: number;
  /** import + first invocation (median of the per-sample sums). */
  coldMs: number;
  ratioToBare: number;
  /** Process start to the answer (node's own boot included). */
  processMs: number;
  processRatioToBare: number;
  samples: number;
}

const CHILD = [
  'const t0 = performance.now();',
  'const { handler } = await import(process.env.BENCH_BUNDLE);',
  'const t1 = performance.now();',
  "const r = await handler(JSON.parse(process.env.BENCH_EVENT), { awsRequestId: 'bench-cold', functionName: 'bench', getRemainingTimeInMillis: () => 10000 });",
  'const t2 = performance.now();',
  'process.stdout.write(JSON.stringify({ boot: t0, importMs: t1 - t0, invokeMs: t2 - t1, status: r.statusCode, body: r.statusCode === 200 ? undefined : String(r.body).slice(0, 300) }));',
  // The pooled database connection would keep the process alive, as in a warm Lambda.
  'process.exit(0);',
].join('\n');

interface Case {
  name: string;
  bundle: BundleResult;
  event(): Promise<unknown>;
  /** Environment changes for this case (diagnostic cases). */
  env?: Record<string, string | undefined>;
}

export async function measureColdStarts(
  svc: Services,
  fx: Fixtures,
  opts: { samples: number; log: (s: string) => void },
): Promise<{ results: ColdStartResult[]; buildMs: number }> {
  const out = mkdtempSync(join(tmpdir(), 'billing-bench-lambda-'));
  try {
    const t = performance.now();
    const [functions, bareBuild] = await Promise.all([
      buildLambdas({ outdir: join(out, 'functions') }),
      buildLambdas({ root: join(ROOT, 'scripts', 'bench', 'bare'), outdir: join(out, 'bare') }),
    ]);
    const buildMs = performance.now() - t;
    const bundle = (name: string) => {
      const b = [...functions, ...bareBuild].find((x) => x.name === name);
      if (!b) throw new Error(`no bundle for ${name}`);
      return b;
    };
    const hs = (sub: string) => svc.hsToken({ sub });
    const ev = async (method: string, path: string, headers: Array<[string, string]>, body?: string) =>
      eventFor('http-api', { method, path, headers, ...(body !== undefined ? { body } : {}) });
    const bearer = async (user: string): Promise<[string, string]> => ['authorization', `Bearer ${await hs(user)}`];
    const cases: Case[] = [
      { name: 'bare', bundle: bundle('bare'), event: () => ev('GET', '/api/stripe/bare', []) },
      { name: 'subscription (GET)', bundle: bundle('subscription'), event: async () => ev('GET', '/api/stripe/subscription', [await bearer(fx.subscribed.user)]) },
      {
        name: 'subscription (GET), no rate limiter',
        bundle: bundle('subscription'),
        event: async () => ev('GET', '/api/stripe/subscription', [await bearer(fx.subscribed.user)]),
        env: { UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined },
      },
      { name: 'usage (GET)', bundle: bundle('usage'), event: async () => ev('GET', '/api/stripe/usage', [await bearer(fx.subscribed.user)]) },
      {
        name: 'usage (POST)',
        bundle: bundle('usage'),
        event: () => ev('POST', '/api/stripe/usage', [['authorization', fx.serviceHeaders.authorization!], ['content-type', 'application/json']], fx.usageBody(100)),
      },
      {
        name: 'checkout (POST)',
        bundle: bundle('checkout'),
        event: async () => ev('POST', '/api/stripe/checkout', [await bearer(fx.customer.user), ['content-type', 'application/json']], '{}'),
      },
      {
        name: 'portal (POST)',
        bundle: bundle('portal'),
        event: async () => ev('POST', '/api/stripe/portal', [await bearer(fx.subscribed.user), ['content-type', 'application/json']], '{}'),
      },
      {
        name: 'webhook (POST)',
        bundle: bundle('webhook'),
        event: async () => {
          const d = signedDelivery(svc.double, fx.webhookEvent());
          return ev('POST', '/api/stripe/webhook', Object.entries(d.headers), d.body);
        },
      },
    ];
    const runs = new Map<string, Array<{ importMs: number; invokeMs: number; processMs: number }>>(cases.map((c) => [c.name, []]));
    for (let pass = 0; pass <= opts.samples; pass++) {
      for (const c of cases) {
        const r = await runChild(process.execPath, ['--input-type=module', '-e', CHILD], {
          cwd: out,
          env: childEnv({ ...svc.env(c.env), BENCH_BUNDLE: pathToFileURL(c.bundle.file).href, BENCH_EVENT: JSON.stringify(await c.event()) }),
          timeoutMs: 20_000,
        });
        if (r.code !== 0) throw new Error(`cold start of ${c.name} failed (${r.code ?? r.signal}${r.timedOut ? ', timed out' : ''}): ${r.stderr.slice(-1500)}`);
        const m = JSON.parse(r.stdout) as { boot: number; importMs: number; invokeMs: number; status: number; body?: string };
        if (m.status !== 200) throw new Error(`cold start of ${c.name} answered ${m.status}: ${m.body}`);
        // Pass 0 warms the OS file cache and is not counted.
        if (pass > 0) runs.get(c.name)!.push({ importMs: m.importMs, invokeMs: m.invokeMs, processMs: m.boot + m.importMs + m.invokeMs });
      }
    }
    const med = (name: string, f: (x: { importMs: number; invokeMs: number; processMs: number }) => number) => median(runs.get(name)!.map(f));
    const bareCold = med('bare', (x) => x.importMs + x.invokeMs);
    const bareProcess = med('bare', (x) => x.processMs);
    const results = cases.map((c): ColdStartResult => {
      const coldMs = med(c.name, (x) => x.importMs + x.invokeMs);
      const processMs = med(c.name, (x) => x.processMs);
      return {
        name: c.name,
        function: c.bundle.name,
        bytes: c.bundle.bytes,
        gzipBytes: c.bundle.gzipBytes,
        loadedPackages: c.bundle.loadedPackages,
        loadedBytesByPackage: c.bundle.loadedBytesByPackage,
        loadsStripe: c.bundle.loadedPackages.includes('stripe'),
        importMs: round(med(c.name, (x) => x.importMs), 1),
        firstInvocationMs: round(med(c.name, (x) => x.invokeMs), 1),
        coldMs: round(coldMs, 1),
        ratioToBare: round(coldMs / bareCold, 1),
        processMs: round(processMs, 1),
        processRatioToBare: round(processMs / bareProcess, 2),
        samples: opts.samples,
      };
    });
    for (const r of results) {
      const top = Object.entries(r.loadedBytesByPackage).slice(0, 6).map(([k, v]) => `${k} ${Math.round(v / 1024)}`).join(', ');
      opts.log(
        `  ${r.name.padEnd(20)} ${String(Math.round(r.bytes / 1024)).padStart(4)} KiB loaded (${Math.round(r.gzipBytes / 1024)} KiB gz)` +
          `  import ${String(r.importMs).padStart(6)} ms + first call ${String(r.firstInvocationMs).padStart(6)} ms = ${String(r.coldMs).padStart(6)} ms (x${r.ratioToBare} bare)` +
          `  process ${r.processMs} ms (x${r.processRatioToBare})  stripe SDK: ${r.loadsStripe ? 'loaded' : 'no'}` +
          (r.name === 'bare' || r.name.includes('no rate limiter') ? '' : `\n  ${''.padEnd(20)} KiB by package: ${top}`),
      );
    }
    return { results, buildMs: round(buildMs, 0) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
