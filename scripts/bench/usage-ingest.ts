/**
 * Usage ingestion: runs scripts/bench-usage.ts (someone else's benchmark, with its own
 * Postgres and Stripe double) as a child process, and reads its figures from its output.
 * Whatever it prints is kept; the figures are parsed when the lines look as expected.
 */
import { join } from 'node:path';
import { childEnv } from './services.ts';
import { ROOT, runChild, tsNode } from './util.ts';

export interface UsageIngestResult {
  ok: boolean;
  exitCode: number | null;
  seconds: number;
  recordsPerSecond?: number;
  baselineRowsPerSecond?: number;
  ratioToBaseline?: number;
  reportedMeterEvents?: number;
  reportSeconds?: number;
  stripeCalls?: number;
  customersTimesWindows?: number;
  totalsMatch?: boolean;
  stdout: string;
  stderrTail?: string;
}

/** Pulls the figures out of bench-usage.ts's output (see the console.log lines at its end). */
export function parseUsageOutput(stdout: string): Partial<UsageIngestResult> {
  const num = (re: RegExp) => {
    const m = re.exec(stdout);
    return m ? Number(m[1]) : undefined;
  };
  const out: Partial<UsageIngestResult> = {};
  const set = <K extends keyof UsageIngestResult>(k: K, v: UsageIngestResult[K] | undefined) => {
    if (v !== undefined && !(typeof v === 'number' && Number.isNaN(v))) out[k] = v;
  };
  set('recordsPerSecond', num(/^\s*ingest\s+(\d+(?:\.\d+)?) records\/s/m));
  set('baselineRowsPerSecond', num(/^\s*baseline\s+(\d+(?:\.\d+)?) rows\/s/m));
  set('ratioToBaseline', num(/^\s*ratio\s+.*?=\s*(\d+(?:\.\d+)?)/m));
  set('reportedMeterEvents', num(/^\s*report\s+(\d+) meter events/m));
  set('reportSeconds', num(/^\s*report\s+\d+ meter events in (\d+(?:\.\d+)?) s/m));
  set('stripeCalls', num(/^\s*Stripe\s+(\d+) meter event calls/m));
  set('customersTimesWindows', num(/customers x windows = (\d+)/m));
  const totals = /^\s*totals\s+.*:\s*(ok|MISSED)\s*$/m.exec(stdout);
  if (totals) out.totalsMatch = totals[1] === 'ok';
  return out;
}

export async function measureUsageIngest(opts: { args: string[]; timeoutMs: number; log: (s: string) => void }): Promise<UsageIngestResult> {
  const [node, args] = tsNode(join(ROOT, 'scripts', 'bench-usage.ts'), opts.args);
  // A clean environment: the script sets up its own services.
  const r = await runChild(node, args, { env: childEnv({ LOG_LEVEL: 'silent' }), timeoutMs: opts.timeoutMs });
  for (const line of r.stdout.trimEnd().split('\n')) if (line) opts.log(`  | ${line}`);
  if (r.timedOut) opts.log(`  bench-usage.ts did not finish in ${opts.timeoutMs / 1000} s and was stopped`);
  else if (r.code !== 0) opts.log(`  bench-usage.ts exited with ${r.code ?? r.signal}: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const figures = parseUsageOutput(r.stdout);
  return {
    ok: r.code === 0 && figures.recordsPerSecond !== undefined,
    exitCode: r.code,
    seconds: Math.round(r.ms / 100) / 10,
    ...figures,
    stdout: r.stdout,
    ...(r.code !== 0 ? { stderrTail: r.stderr.slice(-2000) } : {}),
  };
}
