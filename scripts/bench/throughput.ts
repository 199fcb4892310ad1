/**
 * Throughput: GET subscription served over HTTP in its own process (serve-child.ts, as
 * tests/helpers/serve.ts serves handlers), against the local services without added
 * delay, driven by load.ts in another process at a fixed concurrency for a fixed time;
 * beside the floor (the same server, a handler that returns a constant JSON body) run the
 * same way. The handler runs with its shipped defaults (DATABASE_POOL_MAX 3, the rate
 * limiter on every request), HS256 tokens and request logs off.
 */
import type { Fixtures } from './fixtures.ts';
import type { LoadResult } from './load.ts';
import { childEnv, type Services } from './services.ts';
import { ROOT, round, runChild, startChild, tsNode } from './util.ts';
import { join } from 'node:path';

export interface ThroughputResult {
  target: 'floor' | 'subscription';
  load: LoadResult;
}

export async function runThroughput(
  svc: Services,
  target: 'floor' | 'subscription',
  opts: { connections: number; durationS: number; warmupS: number; headers: Record<string, string> },
): Promise<LoadResult> {
  const [node, args] = tsNode(join(ROOT, 'scripts', 'bench', 'serve-child.ts'), [target]);
  const server = await startChild<{ url: string }>(node, args, { env: childEnv(svc.env()) });
  try {
    const [lnode, largs] = tsNode(join(ROOT, 'scripts', 'bench', 'load.ts'), [
      '--url', `${server.ready.url}/api/stripe/${target}`,
      '--connections', String(opts.connections),
      '--duration', String(opts.durationS),
      '--warmup', String(opts.warmupS),
      ...Object.entries(opts.headers).flatMap(([k, v]) => ['--header', `${k}: ${v}`]),
    ]);
    const r = await runChild(lnode, largs, { env: childEnv({}), timeoutMs: (opts.durationS + opts.warmupS + 30) * 1000 });
    if (r.code !== 0) throw new Error(`load generator failed (${r.code ?? r.signal}): ${r.stderr.slice(-1500)}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as LoadResult;
  } finally {
    await server.stop();
  }
}

export async function measureThroughput(
  svc: Services,
  fx: Fixtures,
  opts: { connections: number; durationS: number; warmupS: number; log: (s: string) => void },
): Promise<{ floor: LoadResult; subscription: LoadResult; ratio: number }> {
  const token = await svc.hsToken({ sub: fx.subscribed.user });
  const common = { connections: opts.connections, durationS: opts.durationS, warmupS: opts.warmupS };
  const floor = await runThroughput(svc, 'floor', { ...common, headers: { authorization: `Bearer ${token}` } });
  const subscription = await runThroughput(svc, 'subscription', { ...common, headers: { authorization: `Bearer ${token}` } });
  const ratio = round(subscription.rps / floor.rps, 2);
  const line = (name: string, r: LoadResult) =>
    `  ${name.padEnd(18)} ${String(r.rps).padStart(6)} req/s  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms  (${r.requests} requests, statuses ${JSON.stringify(r.statuses)}, errors ${r.errors})`;
  opts.log(line('floor', floor));
  opts.log(line('GET subscription', subscription));
  opts.log(`  ratio ${ratio} of the floor (budget >= 0.5)`);
  const bad = Object.entries(subscription.statuses).filter(([s]) => s !== '200');
  if (bad.length) throw new Error(`GET subscription answered non-200 under load: ${JSON.stringify(subscription.statuses)}`);
  return { floor, subscription, ratio };
}
