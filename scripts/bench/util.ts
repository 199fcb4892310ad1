/** Small helpers shared by the benchmark scripts: statistics, ports, child processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every child this process started and that is still running, so a watchdog can end them (by pid). */
const live = new Set<ChildProcess>();
const track = (child: ChildProcess) => {
  live.add(child);
  child.once('close', () => live.delete(child));
};
export function killChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The value below which a fraction `p` (0..1) of the sorted samples lie (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const round = (n: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

export { freePort } from '../../dev/ports.ts';
export { shuffle } from '../../dev/shuffle.ts';

/** Runs `work` over `items` with at most `concurrency` in flight; results in input order. */
export async function pool<T, R>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}

/** Node arguments that run a TypeScript file the way `npx tsx` does. */
export const tsNode = (file: string, args: string[] = []) => [process.execPath, ['--import', 'tsx', file, ...args]] as const;

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** Runs a child to completion, killing it (by its pid only) after `timeoutMs`. */
export function runChild(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number; echo?: boolean },
): Promise<ChildResult> {
  const started = performance.now();
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      if (opts.echo) process.stdout.write(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr, timedOut, ms: performance.now() - started });
    });
  });
}

/**
 * Starts a long-running child that prints one JSON line when ready; resolves with that
 * line and a stop function (SIGTERM to that pid, SIGKILL after 3 s).
 */
export function startChild<T>(
  cmd: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; readyTimeoutMs?: number },
): Promise<{ child: ChildProcess; ready: T; stderr: () => string; stop(): Promise<void> }> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    let buffered = '';
    let stderr = '';
    let ready = false;
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    const stop = async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`child did not become ready: ${args.join(' ')}\n${stderr.slice(-2000)}`));
    }, opts.readyTimeoutMs ?? 30_000);
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-20_000);
    });
    child.stdout.on('data', (c: Buffer) => {
      if (ready) return;
      buffered += c.toString('utf8');
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      ready = true;
      clearTimeout(timer);
      try {
        resolveStart({ child, ready: JSON.parse(buffered.slice(0, nl)) as T, stderr: () => stderr, stop });
      } catch (err) {
        void stop();
        reject(err);
      }
    });
    child.once('close', (code) => {
      if (ready) return;
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before it was ready: ${args.join(' ')}\n${stderr.slice(-2000)}`));
    });
  });
}

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  ticks: number;
}

function readProcs(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const line = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const rest = line.slice(line.lastIndexOf(')') + 2).split(' ');
      // Fields from the state (3rd) on: ppid is the 4th, utime..cstime the 14th..17th.
      out.push({ pid: Number(entry), ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) + Number(rest[13]) + Number(rest[14]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** This process and its descendants (services, children), each with its ticks. */
function ourProcs(): Map<number, number> {
  const procs = readProcs();
  const children = new Map<number, ProcStat[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out = new Map<number, number>();
  const self = procs.find((p) => p.pid === process.pid);
  const stack = self ? [self] : [];
  while (stack.length) {
    const p = stack.pop()!;
    out.set(p.pid, p.ticks);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** A short name for a process: its program and the first argument that says what it is. */
function label(pid: number): string {
  if (pid === process.pid) return 'bench (this process: bridge, Stripe double; and children that exited)';
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const prog = (args[0] ?? '').split('/').pop() ?? '';
    const script = args.find((a) => /\.(ts|mts|js|mjs)$/.test(a));
    if (script) return `${prog} ${script.replace(`${ROOT}/`, '')} ${args[args.indexOf(script) + 1] ?? ''}`.trim();
    if (prog.startsWith('postgres')) return 'postgres';
    return prog;
  } catch {
    return `pid ${pid}`;
  }
}

function busyTicks(): number {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return total - f[3]! - f[4]!;
}

export interface CpuUse {
  seconds: number;
  /** Cores kept busy by this run's processes (this one and its descendants: services, children). */
  oursCores: number;
  /** Cores kept busy by everything else on the machine meanwhile (other people's work). */
  othersCores: number;
  /** Our processes by name (postgres backends together), CPU seconds. */
  byProcess: Record<string, number>;
}

/** Watches CPU use from now until the returned function is called (Linux; null elsewhere). */
export function watchCpu(): () => CpuUse | null {
  if (!existsSync('/proc/stat')) return () => null;
  const t0 = performance.now();
  const busy0 = busyTicks();
  const ours0 = ourProcs();
  return () => {
    const seconds = (performance.now() - t0) / 1000;
    const busy = busyTicks() - busy0;
    const now = ourProcs();
    const hz = 100; // USER_HZ on Linux
    const byProcess: Record<string, number> = {};
    for (const [pid, ticks] of now) {
      const d = ticks - (ours0.get(pid) ?? 0);
      if (d <= 0) continue;
      const name = label(pid);
      byProcess[name] = round((byProcess[name] ?? 0) + d / hz, 2);
    }
    const ours = sum(now) - [...ours0].filter(([pid]) => now.has(pid)).reduce((a, [, t]) => a + t, 0);
    return {
      seconds: round(seconds, 1),
      oursCores: round(ours / hz / seconds, 2),
      othersCores: round(Math.max(0, busy - ours) / hz / seconds, 2),
      byProcess,
    };
  };
}
