/**
 * A benchmark server process: serves one handler over HTTP on 127.0.0.1 exactly as
 * tests/helpers/serve.ts does (node:http, a real Request per request), and prints
 * `{"url": ...}` when it listens. `floor` is the same server with a handler that returns
 * a constant JSON body: the ceiling of the stack itself.
 *
 *   node --import tsx scripts/bench/serve-child.ts subscription|webhook|floor
 * The handler reads its configuration from the environment. Stops on SIGTERM/SIGINT.
 */
import type { Handler } from '../../shared/endpoint.ts';
import { serve } from '../../tests/helpers/serve.ts';

const which = process.argv[2];
const floor: Handler = async () =>
  new Response(JSON.stringify({ ok: true, state: 'active' }), { headers: { 'content-type': 'application/json' } });

async function load(name: string | undefined): Promise<Handler> {
  switch (name) {
    case 'floor':
      return floor;
    case 'subscription':
      return (await import('../../functions/subscription.ts')).default;
    case 'webhook':
      return (await import('../../functions/webhook.ts')).default;
    default:
      throw new Error(`serve-child: unknown handler ${name}`);
  }
}

const handler = await load(which);
const app = await serve({ [`/api/stripe/${which}`]: handler, [`/api/billing/${which}`]: handler });
process.stdout.write(`${JSON.stringify({ url: app.url })}\n`);
const stop = () => void app.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
