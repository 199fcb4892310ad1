/**
 * The summary: one row per endpoint (round trips, bundle, cold start, throughput), each
 * figure beside its budget, as a plain-text table, a Markdown table, and JSON.
 */
import type { ColdStartResult } from './coldstart.ts';
import type { RoundTripResult } from './roundtrips.ts';
import type { ThroughputResult } from './throughput.ts';
import type { UsageIngestResult } from './usage-ingest.ts';
import type { BurstResult } from './webhook-burst.ts';

export const BUNDLE_BUDGET_BYTES = 300 * 1000;
export const COLD_RATIO_BUDGET = 2;
export const THROUGHPUT_RATIO_BUDGET = 0.5;
/** Tolerance on a round-trip count before it is called over budget (timer and scheduling noise). */
const RT_SLACK = 0.2;

export interface Sections {
  roundTrips?: RoundTripResult[];
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
}

interface RowSpec {
  endpoint: string;
  rt?: string;
  cold?: string;
  /** Budgets for functions that do not call Stripe. */
  lean?: boolean;
  throughput?: (s: Sections) => SummaryRow['throughput'];
}

const SPECS: RowSpec[] = [
  {
    endpoint: 'GET subscription',
    rt: 'GET subscription',
    cold: 'subscription (GET)',
    lean: true,
    throughput: (s) =>
      s.throughput
        ? {
            text: `${s.throughput.subscription.rps} req/s, p50 ${s.throughput.subscription.p50Ms} ms, p99 ${s.throughput.subscription.p99Ms} ms (${s.throughput.ratio} of floor)`,
            ok: s.throughput.ratio >= THROUGHPUT_RATIO_BUDGET,
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
            text: `burst: ${s.webhookBurst.eventsPerSecond} events/s at c=${s.webhookBurst.concurrency}, ${s.webhookBurst.differences} differences`,
            ok: s.webhookBurst.differences === 0 && Object.keys(s.webhookBurst.statuses).every((k) => k === '200'),
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
  },
];

export function summarize(s: Sections): SummaryRow[] {
  return SPECS.map((spec): SummaryRow => {
    const rt = spec.rt ? s.roundTrips?.find((r) => r.endpoint === spec.rt) : undefined;
    const cold = spec.cold ? s.coldStart?.find((c) => c.name === spec.cold) : undefined;
    return {
      endpoint: spec.endpoint,
      roundTrips: rt ? { value: rt.roundTrips, budget: rt.budget, ok: rt.roundTrips <= rt.budget + RT_SLACK } : null,
      bundle: cold
        ? {
            bytes: cold.bytes,
            gzipBytes: cold.gzipBytes,
            loadsStripe: cold.loadsStripe,
            budgetBytes: spec.lean ? BUNDLE_BUDGET_BYTES : null,
            ok: spec.lean ? cold.bytes < BUNDLE_BUDGET_BYTES && !cold.loadsStripe : null,
          }
        : null,
      coldStart: cold
        ? {
            ms: cold.coldMs,
            ratioToBare: cold.ratioToBare,
            budgetRatio: spec.lean ? COLD_RATIO_BUDGET : null,
            ok: spec.lean ? cold.ratioToBare <= COLD_RATIO_BUDGET : null,
            case: cold.name,
          }
        : null,
      throughput: spec.throughput?.(s) ?? null,
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
  return [r.endpoint, rt, bundle, cold, tput];
}

const HEAD = ['endpoint', 'round trips (budget)', 'bundle loaded at cold start', 'cold start: import + 1st call (x bare)', 'throughput'];

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
export function gaps(rows: SummaryRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.roundTrips && !r.roundTrips.ok) out.push(`${r.endpoint}: ${r.roundTrips.value} round trips, budget ${r.roundTrips.budget}`);
    if (r.bundle && r.bundle.ok === false) {
      out.push(`${r.endpoint}: bundle ${Math.round(r.bundle.bytes / 1000)} KB${r.bundle.loadsStripe ? ' and loads the Stripe SDK' : ''}, budget < 300 KB without Stripe`);
    }
    if (r.coldStart && r.coldStart.ok === false) out.push(`${r.endpoint}: cold start x${r.coldStart.ratioToBare} of bare, budget x${r.coldStart.budgetRatio}`);
    if (r.throughput && r.throughput.ok === false) out.push(`${r.endpoint}: ${r.throughput.text}`);
  }
  return out;
}
