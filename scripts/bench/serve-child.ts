/**
 * A benchmark server process: serves one handler over HTTP on 127.0.0.1 exactly as
 * dev/serve.ts does (node:http, a real Request per request), and prints
 * `{"url": ...}` when it listens. `floor` is the same server with a handler that returns
 * a constant JSON body: the ceiling of the stack itself. `floor-io` also does, per request,
 * what GET subscription cannot avoid, with the same clients and none of our code: one
 * Upstash pipeline (EVAL `return 1`, through shared/upstash.ts) and one Postgres query (`select 1`).
 *
 *   node --import tsx scripts/bench/serve-child.ts subscription|webhook|floor|floor-io
 * The handler reads its configuration from the environment. Stops on SIGTERM/SIGINT.
 */
import type { Handler } from '../../shared/endpoint.ts';
import { serve } from '../../dev/serve.ts';

const which = process.argv[2];
const floor: Handler = async () =>
  new Response(JSON.stringify({ ok: true, state: 'active' }), { headers: { 'content-type': 'application/json' } });

async function load(name: string | undefined): Promise<Handler> {
  switch (name) {
    case 'floor':
      return floor;
    case 'floor-io': {
      const { default: postgres } = await import('postgres');
      const { createUpstashClient } = await import('../../shared/upstash.ts');
      const env = (k: string) => process.env[k] ?? '';
      const sql = postgres(env('DATABASE_URL'), { max: 3, prepare: false, onnotice: () => undefined });
      const redis = createUpstashClient({ url: env('UPSTASH_REDIS_REST_URL'), token: env('UPSTASH_REDIS_REST_TOKEN') });
      return async () => {
        await Promise.all([redis.eval('return 1', [], []), sql.unsafe('select 1')]);
        return floor(new Request('http://floor/'));
      };
    }
    case 'subscription':
      return (await import('../../functions/subscription.ts')).default;
    case 'webhook':
      return (await import('../../functions/webhook.ts')).default;
    default:
      throw new Error(`serve-child: unknown handler ${name}`);
  }
}

// BENCH_CPU_PROFILE=<file>: a V8 CPU profile of the run, written on SIGTERM (for finding where the time goes).
const profileFile = process.env.BENCH_CPU_PROFILE;
let stopProfile: (() => Promise<void>) | undefined;
if (profileFile) {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolvePost, reject) => session.post(method, (err, result) => (err ? reject(err) : resolvePost(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  stopProfile = async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(profileFile, JSON.stringify(profile));
  };
}

const handler = await load(which);
const app = await serve({ [`/api/stripe/${which}`]: handler, [`/api/billing/${which}`]: handler });
process.stdout.write(`${JSON.stringify({ url: app.url })}\n`);
const stop = () =>
  void app
    .close()
    .then(() => stopProfile?.())
    .finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
