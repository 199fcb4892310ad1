/**
 * Throughput: GET subscription served over HTTP in its own process (serve-child.ts, as
 * dev/serve.ts serves handlers), against the local services without added
 * delay, driven by load.ts in another process at a fixed concurrency for a fixed time;
 * beside the floor (the same server, a handler that returns a constant JSON body) run the
 * same way. The handler runs with its shipped defaults (DATABASE_POOL_MAX 3, the rate
 * limiter on every request), HS256 tokens and request logs off. A third run without the
 * rate limiter (UPSTASH_* unset) shows the limiter's share, and the CPU each process
 * spent per request shows where the cost lands (all of it shares this machine's cores,
 * including the local stand-ins for Upstash and Postgres).
 */
import { join } from 'node:path';
import type { Fixtures } from './fixtures.ts';
import type { LoadResult } from './load.ts';
import { childEnv, type Services } from './services.ts';
import { ROOT, round, runChild, startChild, tsNode, watchCpu, type CpuUse } from './util.ts';

export interface ThroughputRun extends LoadResult {
  cpu: CpuUse | null;
  /** CPU ms per request by process (the load generator's own share taken out of the bench process). */
  cpuMsPerRequest: Record<string, number>;
}

export async function runThroughput(
  svc: Services,
  target: 'floor' | 'floor-io' | 'subscription',
  opts: { connections: number; durationS: number; warmupS: number; headers: Record<string, string>; env?: Record<string, string | undefined> },
): Promise<ThroughputRun> {
  const [node, args] = tsNode(join(ROOT, 'scripts', 'bench', 'serve-child.ts'), [target]);
  const server = await startChild<{ url: string }>(node, args, { env: childEnv(svc.env(opts.env)) });
  try {
    const [lnode, largs] = tsNode(join(ROOT, 'scripts', 'bench', 'load.ts'), [
      '--url', `${server.ready.url}/api/stripe/${target}`,
      '--connections', String(opts.connections),
      '--duration', String(opts.durationS),
      '--warmup', String(opts.warmupS),
      ...Object.entries(opts.headers).flatMap(([k, v]) => ['--header', `${k}: ${v}`]),
    ]);
    const watch = watchCpu();
    const r = await runChild(lnode, largs, { env: childEnv({}), timeoutMs: (opts.durationS + opts.warmupS + 30) * 1000 });
    const cpu = watch();
    if (r.code !== 0) throw new Error(`load generator failed (${r.code ?? r.signal}): ${r.stderr.slice(-1500)}`);
    const load = JSON.parse(r.stdout.trim().split('\n').pop()!) as LoadResult;
    const cpuMsPerRequest: Record<string, number> = {};
    if (cpu) {
      const n = Math.max(1, load.answered);
      for (const [name, seconds] of Object.entries(cpu.byProcess)) {
        // The generator exits inside the window: its CPU lands on this (its parent) process.
        const ms = name.startsWith('bench ') ? seconds * 1000 - load.cpuMs : seconds * 1000;
        const key = name.startsWith('postgres') ? 'postgres' : name.startsWith('redis-server') ? 'redis-server' : name.includes('serve-child') ? 'server' : name.startsWith('bench ') ? 'bench (bridge)' : name;
        cpuMsPerRequest[key] = round((cpuMsPerRequest[key] ?? 0) + Math.max(0, ms) / n, 3);
      }
      cpuMsPerRequest['load generator'] = round(load.cpuMs / n, 3);
    }
    return { ...load, cpu, cpuMsPerRequest };
  } finally {
    await server.stop();
  }
}

export interface ThroughputResult {
  floor: ThroughputRun;
  subscription: ThroughputRun;
  /** Diagnostic: the same without the rate limiter. */
  subscriptionNoLimiter: ThroughputRun | null;
  /** Diagnostic: the floor plus the I/O GET subscription cannot avoid (one Upstash call, one query), none of our code. */
  floorIo: ThroughputRun | null;
  ratio: number;
  /** Every run, in order (floor and subscription alternate); `floor` and `subscription` are the best of each. */
  runs: Array<{ target: string; rps: number }>;
}

export async function measureThroughput(
  svc: Services,
  fx: Fixtures,
  opts: { connections: number; durationS: number; warmupS: number; rounds: number; diagnostics: boolean; log: (s: string) => void },
): Promise<ThroughputResult> {
  const token = await svc.hsToken({ sub: fx.subscribed.user });
  const common = { connections: opts.connections, durationS: opts.durationS, warmupS: opts.warmupS, headers: { authorization: `Bearer ${token}` } };
  const line = (name: string, r: ThroughputRun) =>
    opts.log(
      `  ${name.padEnd(34)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  (${r.requests} requests, statuses ${JSON.stringify(r.statuses)}, errors ${r.errors})` +
        (r.cpu ? `\n  ${''.padEnd(34)} CPU ms/request: ${Object.entries(r.cpuMsPerRequest).map(([k, v]) => `${k} ${v}`).join(', ')}; other processes on the machine ${r.cpu.othersCores} cores` : ''),
    );
  // The floor and GET subscription alternate, `rounds` times each, and the best run of each
  // is compared: a run slowed by something else on the machine (it happens, by a third at
  // times) then does not decide the ratio.
  const floors: ThroughputRun[] = [];
  const subscriptions: ThroughputRun[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    const f = await runThroughput(svc, 'floor', common);
    line(`floor (constant JSON, same server) #${round}`, f);
    floors.push(f);
    const s = await runThroughput(svc, 'subscription', common);
    line(`GET subscription #${round}`, s);
    const bad = Object.entries(s.statuses).filter(([status]) => status !== '200');
    if (bad.length) throw new Error(`GET subscription answered non-200 under load: ${JSON.stringify(s.statuses)}`);
    subscriptions.push(s);
  }
  const best = (runs: ThroughputRun[]) => runs.reduce((a, b) => (b.rps > a.rps ? b : a));
  const floor = best(floors);
  const subscription = best(subscriptions);
  let subscriptionNoLimiter: ThroughputRun | null = null;
  let floorIo: ThroughputRun | null = null;
  if (opts.diagnostics) {
    subscriptionNoLimiter = await runThroughput(svc, 'subscription', { ...common, env: { UPSTASH_REDIS_REST_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined } });
    line('GET subscription, no rate limiter', subscriptionNoLimiter);
    floorIo = await runThroughput(svc, 'floor-io', common);
    line('floor + 1 Upstash call + 1 query', floorIo);
  }
  const ratio = round(subscription.rps / floor.rps, 2);
  opts.log(
    `  ratio ${ratio} of the floor (best of ${opts.rounds} runs each; budget >= 0.5)` +
      (subscriptionNoLimiter ? `; without the rate limiter ${round(subscriptionNoLimiter.rps / floor.rps, 2)}` : '') +
      (floorIo ? `; ${round(subscription.rps / floorIo.rps, 2)} of the floor doing the same I/O (which is itself ${round(floorIo.rps / floor.rps, 2)} of the floor)` : ''),
  );
  const runs = floors.flatMap((f, i) => [{ target: 'floor', rps: f.rps }, { target: 'subscription', rps: subscriptions[i]!.rps }]);
  return { floor, subscription, subscriptionNoLimiter, floorIo, ratio, runs };
}
