/**
 * The summary: one row per endpoint (warm round trips, bundle, cold start, throughput, CPU
 * per request), and the cold-path table (round trips of a fresh process's first request,
 * per store configuration), as plain text, Markdown and JSON. Verdicts (ok / OVER) only on
 * the budgets of issue 17: warm and cold round trips, CPU per request against the floor
 * server's, the webhook burst; the cold start against a bare function and throughput
 * against the floor are printed as figures (they measure this machine more than the code).
 */
import type { ColdPathReport } from './coldpath.ts';
import type { ColdStartResult } from './coldstart.ts';
import type { RoundTripResult } from './roundtrips.ts';
import type { ThroughputResult } from './throughput.ts';
import type { UsageIngestResult } from './usage-ingest.ts';
import type { BurstResult } from './webhook-burst.ts';

/** CPU per request of GET subscription's process, warm, against the floor server's: the aim. */
export const CPU_RATIO_AIM = 2;
/** Tolerance on a round-trip count before it is called over budget (timer and scheduling noise). */
const RT_SLACK = 0.2;

export interface Sections {
  roundTrips?: RoundTripResult[];
  coldPath?: ColdPathReport;
  coldStart?: ColdStartResult[];
  throughput?: ThroughputResult;
  webhookBurst?: BurstResult;
  usageIngest?: UsageIngestResult;
}

export interface SummaryRow {
  endpoint: string;
  roundTrips: { value: number; budget: number; ok: boolean } | null;
  bundle: { bytes: number; gzipBytes: number; loadsStripe: boolean; budgetBytes: number | null; ok: boolean | null } | null;
  coldStart: { ms: number; ratioToBare: number; budgetRatio: number | null; ok: boolean | null; case: string } | null;
  throughput: { text: string; ok: boolean | null } | null;
  /** CPU ms per request of the function's own process, and as a ratio to the floor server's. */
  cpu: { ms: number; ratio: number | null; ok: boolean | null } | null;
}

interface RowSpec {
  endpoint: string;
  rt?: string;
  cold?: string;
  /** Budgets for functions that do not call Stripe. */
  lean?: boolean;
  throughput?: (s: Sections) => SummaryRow['throughput'];
  cpu?: (s: Sections) => SummaryRow['cpu'];
}

/** The function process's own CPU per request (not Postgres', Redis' or the load generator's), against the floor server's. */
function serverCpu(s: Sections): SummaryRow['cpu'] {
  const fn = s.throughput?.subscription.cpuMsPerRequest.server;
  const floor = s.throughput?.floor.cpuMsPerRequest.server;
  if (fn === undefined) return null;
  const ratio = floor ? Math.round((fn / floor) * 100) / 100 : null;
  return { ms: fn, ratio, ok: ratio === null ? null : ratio <= CPU_RATIO_AIM };
}

const SPECS: RowSpec[] = [
  {
    endpoint: 'GET subscription',
    rt: 'GET subscription',
    cold: 'subscription (GET)',
    lean: true,
    cpu: serverCpu,
    throughput: (s) =>
      s.throughput
        ? {
            text: `${s.throughput.subscription.rps} req/s, p50 ${s.throughput.subscription.p50Ms} ms, p99 ${s.throughput.subscription.p99Ms} ms (${s.throughput.ratio} of floor)`,
            ok: null,
          }
        : null,
  },
  { endpoint: 'GET subscription (org token)', rt: 'GET subscription (org)' },
  { endpoint: 'GET usage', rt: 'GET usage', cold: 'usage (GET)', lean: true },
  { endpoint: 'POST checkout (known customer)', rt: 'POST checkout', cold: 'checkout (POST)' },
  { endpoint: 'POST portal', rt: 'POST portal', cold: 'portal (POST)' },
  {
    endpoint: 'POST webhook',
    rt: 'POST webhook',
    cold: 'webhook (POST)',
    throughput: (s) =>
      s.webhookBurst
        ? {
            text: `burst: ${s.webhookBurst.eventsPerSecond} events/s at c=${s.webhookBurst.concurrency}, ${s.webhookBurst.differences} differences, ${s.webhookBurst.lost} lost, ${s.webhookBurst.retried} retried`,
            ok: s.webhookBurst.differences === 0 && s.webhookBurst.lost === 0 && Object.keys(s.webhookBurst.statuses).every((k) => k === '200'),
          }
        : null,
  },
  {
    endpoint: 'POST usage (service key, batch)',
    rt: 'POST usage (100 records)',
    cold: 'usage (POST)',
    throughput: (s) =>
      s.usageIngest
        ? s.usageIngest.recordsPerSecond !== undefined
          ? { text: `ingest: ${s.usageIngest.recordsPerSecond} records/s (bench-usage, ${s.usageIngest.ratioToBaseline ?? '?'} of one INSERT)`, ok: null }
          : { text: `bench-usage: see its output (exit ${s.usageIngest.exitCode})`, ok: null }
        : null,
  },
  { endpoint: 'bare function (reference)', cold: 'bare' },
  {
    endpoint: 'floor server (reference)',
    throughput: (s) =>
      s.throughput ? { text: `${s.throughput.floor.rps} req/s, p50 ${s.throughput.floor.p50Ms} ms, p99 ${s.throughput.floor.p99Ms} ms`, ok: null } : null,
    cpu: (s) => (s.throughput?.floor.cpuMsPerRequest.server !== undefined ? { ms: s.throughput.floor.cpuMsPerRequest.server, ratio: 1, ok: null } : null),
  },
];

export function summarize(s: Sections): SummaryRow[] {
  return SPECS.map((spec): SummaryRow => {
    const rt = spec.rt ? s.roundTrips?.find((r) => r.endpoint === spec.rt) : undefined;
    const cold = spec.cold ? s.coldStart?.find((c) => c.name === spec.cold) : undefined;
    return {
      endpoint: spec.endpoint,
      roundTrips: rt ? { value: rt.roundTrips, budget: rt.budget, ok: rt.roundTrips <= rt.budget + RT_SLACK } : null,
      bundle: cold ? { bytes: cold.bytes, gzipBytes: cold.gzipBytes, loadsStripe: cold.loadsStripe, budgetBytes: null, ok: null } : null,
      coldStart: cold ? { ms: cold.coldMs, ratioToBare: cold.ratioToBare, budgetRatio: null, ok: null, case: cold.name } : null,
      throughput: spec.throughput?.(s) ?? null,
      cpu: spec.cpu?.(s) ?? null,
    };
  });
}

const mark = (ok: boolean | null | undefined) => (ok === true ? ' ok' : ok === false ? ' OVER' : '');

function cells(r: SummaryRow): string[] {
  const rt = r.roundTrips ? `${r.roundTrips.value.toFixed(1)} (${r.roundTrips.budget})${mark(r.roundTrips.ok)}` : '-';
  const bundle = r.bundle
    ? `${Math.round(r.bundle.bytes / 1024)} KiB${r.bundle.loadsStripe ? ', Stripe SDK' : ''}${r.bundle.budgetBytes ? ` (< 300 KB, no Stripe)${mark(r.bundle.ok)}` : ''}`
    : '-';
  const cold = r.coldStart
    ? `${r.coldStart.ms.toFixed(1)} ms (x${r.coldStart.ratioToBare.toFixed(1)})${r.coldStart.budgetRatio ? ` (<= x${r.coldStart.budgetRatio})${mark(r.coldStart.ok)}` : ''}`
    : '-';
  const tput = r.throughput ? `${r.throughput.text}${r.throughput.ok === null ? '' : r.throughput.ok ? ' ok' : ' OVER'}` : '-';
  const cpu = r.cpu ? `${r.cpu.ms.toFixed(3)} ms${r.cpu.ratio !== null ? ` (x${r.cpu.ratio.toFixed(2)})` : ''}${r.cpu.ok === null ? '' : ` (aim <= x${CPU_RATIO_AIM})${mark(r.cpu.ok)}`}` : '-';
  return [r.endpoint, rt, bundle, cold, tput, cpu];
}

const HEAD = [
  'endpoint',
  'warm round trips (budget)',
  'bundle loaded at cold start',
  'cold start: import + 1st call (x bare)',
  'throughput',
  'CPU per request, function process (x floor)',
];

export function textTable(rows: SummaryRow[]): string {
  const all = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(cells(r)))].join('\n');
}

export function markdownTable(rows: SummaryRow[]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).map(esc).join(' | ')} |`),
  ].join('\n');
}

/** What misses its budget, in words. */
export function gaps(rows: SummaryRow[], cold?: ColdPathReport): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.roundTrips && !r.roundTrips.ok) out.push(`${r.endpoint}: ${r.roundTrips.value} round trips, budget ${r.roundTrips.budget}`);
    if (r.throughput && r.throughput.ok === false) out.push(`${r.endpoint}: ${r.throughput.text}`);
    if (r.cpu && r.cpu.ok === false) out.push(`${r.endpoint}: CPU per request x${r.cpu.ratio} of the floor server's, aim x${CPU_RATIO_AIM}`);
  }
  for (const c of cold?.results ?? []) {
    if (!c.ok) out.push(`cold path, ${c.configuration}, ${c.endpoint}: ${c.roundTrips} round trips, budget ${c.budget}`);
  }
  return out;
}

/** The cold-path table: an endpoint per row, a store configuration per column, round trips (budget). */
function coldCells(report: ColdPathReport): string[][] {
  const configurations = [...new Set(report.results.map((r) => r.configuration))];
  const endpoints = [...new Set(report.results.map((r) => r.endpoint))];
  const head = ['cold path: first request of a fresh process', ...configurations.map((c) => (c === report.recommended ? `${c} (recommended)` : c))];
  const rows = endpoints.map((e) => [
    e,
    ...configurations.map((c) => {
      const r = report.results.find((x) => x.endpoint === e && x.configuration === c);
      return r ? `${r.roundTrips.toFixed(1)} (${r.budget})${mark(r.ok)}` : '-';
    }),
  ]);
  const skipped = report.skipped.map((s) => [`${s.name}: not measured (${s.why.split('\n')[0]})`]);
  return [head, ...rows, ...skipped];
}

export function coldPathText(report: ColdPathReport): string {
  const [head, ...rows] = coldCells(report);
  const table = rows.filter((r) => r.length === head!.length);
  const widths = head!.map((_, i) => Math.max(...[head!, ...table].map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head!), widths.map((w) => '-'.repeat(w)).join('  '), ...table.map(line), ...rows.filter((r) => r.length !== head!.length).map((r) => r[0]!)].join('\n');
}

export function coldPathMarkdown(report: ColdPathReport): string {
  const [head, ...rows] = coldCells(report);
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  const table = rows.filter((r) => r.length === head!.length);
  return [
    `| ${head!.map(esc).join(' | ')} |`,
    `|${head!.map(() => '---').join('|')}|`,
    ...table.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ...rows.filter((r) => r.length !== head!.length).map((r) => `\n${r[0]}`),
  ].join('\n');
}
