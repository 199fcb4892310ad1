/**
 * npm run bench: round trips, cold starts, throughput, a webhook burst and usage ingestion,
 * printed as they run, then one summary table (plain and Markdown) with each figure beside
 * its budget, all written to bench-results/latest.json. Benchmarks print figures; they are
 * not tests and fail only when something could not be measured. Everything runs on
 * 127.0.0.1, starts what it needs and stops by itself (a watchdog ends the run).
 *
 *   npx tsx scripts/bench/index.ts [--delay 25] [--samples 15] [--warmup 3] [--cold-samples 15]
 *     [--duration 10] [--throughput-rounds 2] [--connections 32] [--events 2000] [--burst-concurrency 20]
 *     [--only roundtrips,coldstart,throughput,burst,usage] [--quick] [--out bench-results/latest.json]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { config } from '../../shared/config.ts';
import { getStore } from '../../shared/store/index.ts';
import { measureColdPaths } from './coldpath.ts';
import { measureColdStarts } from './coldstart.ts';
import { createFixtures, type Fixtures } from './fixtures.ts';
import { coldPathMarkdown, coldPathText, gaps, markdownTable, summarize, textTable, type Sections } from './report.ts';
import { measureRoundTrips } from './roundtrips.ts';
import { startServices, type Services } from './services.ts';
import { measureThroughput } from './throughput.ts';
import { measureUsageIngest } from './usage-ingest.ts';
import { killChildren, ROOT, watchCpu, type CpuUse } from './util.ts';
import { webhookBurst } from './webhook-burst.ts';

const SECTIONS = ['roundtrips', 'coldpath', 'coldstart', 'throughput', 'burst', 'usage'] as const;
type Section = (typeof SECTIONS)[number];

const { values: a } = parseArgs({
  options: {
    delay: { type: 'string', default: '25' },
    'cold-delay': { type: 'string', default: '100' },
    'cold-path-samples': { type: 'string' },
    'cold-configurations': { type: 'string' },
    'cold-endpoints': { type: 'string' },
    samples: { type: 'string' },
    warmup: { type: 'string' },
    'cold-samples': { type: 'string' },
    duration: { type: 'string' },
    'throughput-warmup': { type: 'string' },
    'throughput-rounds': { type: 'string' },
    connections: { type: 'string', default: '32' },
    events: { type: 'string' },
    'burst-concurrency': { type: 'string', default: '20' },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench-results/latest.json' },
    'max-minutes': { type: 'string', default: '12' },
  },
});
const quick = a.quick;
const num = (v: string | undefined, full: number, q: number) => (v !== undefined ? Number(v) : quick ? q : full);
const settings = {
  delayMs: Number(a.delay),
  coldDelayMs: Number(a['cold-delay']),
  coldPathSamples: num(a['cold-path-samples'], 5, 1),
  samples: num(a.samples, 15, 3),
  warmup: num(a.warmup, 3, 1),
  coldSamples: num(a['cold-samples'], 15, 1),
  durationS: num(a.duration, 10, 1),
  throughputWarmupS: num(a['throughput-warmup'], 2, 0.5),
  throughputRounds: num(a['throughput-rounds'], 2, 1),
  connections: Number(a.connections),
  events: num(a.events, 2000, 120),
  burstConcurrency: Number(a['burst-concurrency']),
  duplicateShare: 0.2,
  usageArgs: quick ? ['--records', '5000', '--customers', '20', '--hours', '2'] : [],
};
const only = new Set<Section>(
  a.only ? a.only.split(',').map((s) => s.trim() as Section).filter((s) => SECTIONS.includes(s)) : quick ? SECTIONS.filter((s) => s !== 'usage') : SECTIONS,
);
const outFile = resolve(ROOT, a.out);

const log = (s: string) => console.log(s);
const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;

let svc: Services | undefined;
let stopping = false;
/** This process's pooled database connections (the handlers ran here), closed before Postgres stops. */
async function closeStore(): Promise<void> {
  try {
    await getStore(config()).close();
  } catch {
    // no store was configured
  }
}
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  killChildren();
  await closeStore();
  await svc?.stop();
}

// The run stops by itself whatever happens.
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${a['max-minutes']} minutes; stopping`);
  void shutdown().finally(() => process.exit(1));
}, Number(a['max-minutes']) * 60_000);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void shutdown().finally(() => process.exit(130)));

function gitDescribe(): { commit: string | null; dirtyFiles: number | null } {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, dirtyFiles: dirty };
  } catch {
    return { commit: null, dirtyFiles: null };
  }
}

const sections: Sections = {};
const errors: Array<{ section: Section; error: string }> = [];
/** CPU per section: ours, and what other processes on the machine used meanwhile (a shared machine skews figures). */
const cpuUse: Partial<Record<Section, CpuUse | null>> = {};
async function section(name: Section, title: string, run: () => Promise<void>): Promise<void> {
  if (!only.has(name)) return;
  log(`\n== ${title} (${elapsed()})`);
  const cpu = watchCpu();
  try {
    await run();
  } catch (err) {
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    errors.push({ section: name, error: message });
    log(`  could not measure: ${message}`);
  }
  const used = (cpuUse[name] = cpu());
  if (used) {
    log(`  [CPU over ${used.seconds} s: this run ${used.oursCores} cores, other processes ${used.othersCores} of ${cpus().length}]` +
      (used.othersCores > 0.25 ? '  (the machine was shared: figures are pessimistic)' : ''));
  }
}

log(`bench: ${[...only].join(', ')}; D = ${settings.delayMs} ms, N = ${settings.samples}, cold samples ${settings.coldSamples}, ` +
  `throughput ${settings.durationS} s at c=${settings.connections}, burst ${settings.events} events at c=${settings.burstConcurrency}${quick ? ' (quick)' : ''}`);

let fixtures: Fixtures | undefined;
try {
  if (['roundtrips', 'coldpath', 'coldstart', 'throughput', 'burst'].some((s) => only.has(s as Section))) {
    log(`starting Postgres, redis-server + Upstash bridge, Stripe double, JWKS server (${elapsed()})`);
    svc = await startServices();
    const s = svc;
    const ensureFixtures = async () => {
      if (fixtures) return fixtures;
      s.applyEnv();
      fixtures = await createFixtures(s.double, s.hsToken);
      return fixtures;
    };

    await section('roundtrips', `Round trips: D = ${settings.delayMs} ms on Upstash, Postgres, Stripe and JWKS; warm medians of ${settings.samples}`, async () => {
      const r = await measureRoundTrips(s, { delayMs: settings.delayMs, samples: settings.samples, warmup: settings.warmup, log });
      sections.roundTrips = r.results;
      fixtures = r.fixtures;
    });
    const list = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()) : undefined);
    await section('coldpath', `Cold path: a fresh process's first request, TLS and authentication on every link, D = ${settings.coldDelayMs} ms; medians of ${settings.coldPathSamples}`, async () => {
      sections.coldPath = await measureColdPaths(s, await ensureFixtures(), {
        delayMs: settings.coldDelayMs,
        samples: settings.coldPathSamples,
        configurations: list(a['cold-configurations']),
        endpoints: list(a['cold-endpoints']),
        log,
      });
    });
    await section('coldstart', `Cold start: fresh node per sample, import + first invocation, medians of ${settings.coldSamples}`, async () => {
      const r = await measureColdStarts(s, await ensureFixtures(), { samples: settings.coldSamples, log });
      sections.coldStart = r.results;
      log(`  (bundles built in ${r.buildMs} ms)`);
    });
    await section('throughput', `Throughput: GET subscription vs floor, ${settings.connections} connections, ${settings.durationS} s each`, async () => {
      sections.throughput = await measureThroughput(s, await ensureFixtures(), {
        connections: settings.connections,
        durationS: settings.durationS,
        warmupS: settings.throughputWarmupS,
        rounds: settings.throughputRounds,
        diagnostics: !quick,
        log,
      });
    });
    await section('burst', `Webhook burst: ${settings.events} events, ${settings.duplicateShare * 100}% duplicates, shuffled, concurrency ${settings.burstConcurrency}`, async () => {
      sections.webhookBurst = await webhookBurst(s, { events: settings.events, concurrency: settings.burstConcurrency, duplicateShare: settings.duplicateShare, log });
    });
    // The usage benchmark brings its own services: free the CPU first.
    await closeStore();
    await s.stop();
    svc = undefined;
  }
  await section('usage', 'Usage ingestion: scripts/bench-usage.ts', async () => {
    sections.usageIngest = await measureUsageIngest({ args: settings.usageArgs, timeoutMs: 180_000, log });
  });
} finally {
  await shutdown();
}

const rows = summarize(sections);
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const machine = `${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores (nproc ${availableParallelism()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`;
const cold = sections.coldPath;
const md = [
  `Produced by \`${command}\` on ${machine}, ${new Date().toISOString().slice(0, 10)}.`,
  ...(cold
    ? [
        `Cold path: a fresh process's first request, every link over TLS 1.3 with the TCP handshake costing D too, Postgres with SCRAM-SHA-256; ` +
          `round trips = (median at 2D - median at D) / D, D = ${cold.delayMs} ms, N = ${settings.coldPathSamples}. ` +
          `Budgets: at most 5 everywhere, GET subscription at most 3 in the recommended configuration.`,
        '',
        coldPathMarkdown(cold),
        '',
      ]
    : []),
  `Warm round trips: D = ${settings.delayMs} ms on every remote call, (warm median at D - at 0) / D, N = ${settings.samples}. ` +
    `Cold start: fresh node, import + first invocation against local services (no delay, no TLS), median of ${settings.coldSamples}. ` +
    `Throughput: ${settings.connections} connections, ${settings.durationS} s, best of ${settings.throughputRounds} alternating runs each. ` +
    `CPU per request: the function's server process alone, warm, during the throughput run, against the floor server's process. ` +
    `Cold start (x bare) and throughput (of floor) carry no verdict: they measure this machine.`,
  '',
  markdownTable(rows),
].join('\n');
const missed = gaps(rows, cold);

log(`\n== Summary (${elapsed()})\n`);
if (cold) log(`${coldPathText(cold)}\n`);
log(textTable(rows));
log('\nMarkdown (README):\n');
log(md);
log(missed.length ? `\nOver budget:\n${missed.map((g) => `  - ${g}`).join('\n')}` : '\nAll measured figures are within budget.');
if (errors.length) log(`\nNot measured: ${errors.map((e) => e.section).join(', ')} (see above)`);

mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(
  outFile,
  `${JSON.stringify(
    {
      generatedAt: new Date().toISOString(),
      command,
      machine: { cpu: cpus()[0]?.model.trim() ?? null, cores: cpus().length, node: process.version, platform: process.platform, cpuUse },
      git: gitDescribe(),
      settings,
      durationSeconds: Math.round((performance.now() - started) / 100) / 10,
      summary: rows,
      overBudget: missed,
      markdown: md,
      sections,
      errors,
    },
    null,
    2,
  )}\n`,
);
log(`\nwritten: ${relative(process.cwd(), outFile)} (${elapsed()})`);
clearTimeout(watchdog);
process.exit(errors.length ? 1 : 0);
