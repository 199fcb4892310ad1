/**
 * A local stand-in for API Gateway / Function URLs: real HTTP in, a Lambda event of the
 * chosen kind to the Lambda handler, its result back out as HTTP. So real HTTP clients
 * (fetch, the Stripe double's webhook sender) reach our Lambda entries as they would on
 * AWS. Every request body is handed over base64-encoded, the form in which a signature
 * check is easiest to break.
 */
import { createServer } from 'node:http';
import type { LambdaHttpHandler } from '../../shared/lambda.ts';
import { eventFor, lambdaContext, readResult, type Kind } from './events.ts';

/** `handlers` by endpoint name, served at /api/stripe/<name> and /api/billing/<name>. */
export async function serveLambdas(handlers: Record<string, LambdaHttpHandler>, kind: Kind): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://gateway.local');
    const name = /^\/api\/(?:stripe|billing)\/([a-z-]+)$/.exec(url.pathname)?.[1];
    const handler = name ? handlers[name] : undefined;
    if (!handler) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}'); // API Gateway's own 404
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const headers: Array<[string, string]> = [];
    let cookies: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const [k, v] = [req.rawHeaders[i]!, req.rawHeaders[i + 1]!];
      if (/^(host|connection|content-length|transfer-encoding)$/i.test(k)) continue;
      if (k.toLowerCase() === 'cookie') cookies = cookies.concat(v.split(/;\s*/));
      else headers.push([k, v]);
    }
    const body = Buffer.concat(chunks);
    const event = eventFor(kind, {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: [...url.searchParams],
      headers,
      cookies,
      ...(body.length ? { body, base64: true } : {}),
    });
    try {
      const result = readResult(await handler(event, lambdaContext()));
      const out: Array<[string, string]> = Object.entries(result.headers);
      for (const c of result.setCookies) out.push(['set-cookie', c]);
      res.writeHead(result.status, out.flat()).end(result.bytes);
    } catch {
      res.writeHead(502, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}'); // what API Gateway answers
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
