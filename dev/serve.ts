/**
 * Serves handlers over real HTTP on 127.0.0.1 (as netlify dev does), so the Stripe
 * double can deliver webhooks to them. Routes are exact paths; any other path under
 * /api/stripe/ or /api/billing/ gets the not-found function, as on Netlify and Lambda.
 */
import { createServer, type IncomingMessage } from 'node:http';
import notFound from '../functions/not-found.ts';
import type { Handler } from '../shared/endpoint.ts';

/** A Node request as a web Request (what the platform hands a handler). */
export async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v !== undefined) headers.set(k, v);
  }
  const body = chunks.length && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
  return new Request(new URL(req.url ?? '/', origin), { method: req.method, headers, body });
}

export async function serve(routes: Record<string, Handler>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
    const path = new URL(req.url ?? '/', origin).pathname;
    const handler = routes[path] ?? (/^\/api\/(stripe|billing)\//.test(path) ? notFound : undefined);
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    const response = await handler(await toRequest(req, origin), {});
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
