/**
 * A tiny HTTP server that answers what each test scripts, and records what it was sent:
 * the client's behaviour on shapes and failures the real functions cannot be made to produce.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  /** A string is sent as it is; anything else as JSON. */
  body?: unknown;
  /** Destroy the connection without answering. */
  hangUp?: boolean;
  /** Answer after this long. */
  delayMs?: number;
}

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export async function scriptedServer() {
  let next: Answer = { body: {} };
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
    const a = next;
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    if (a.hangUp) {
      req.socket.destroy();
      return;
    }
    const text = typeof a.body === 'string' ? a.body : JSON.stringify(a.body);
    res.writeHead(a.status ?? 200, { 'content-type': typeof a.body === 'string' ? 'text/html' : 'application/json', ...a.headers });
    res.end(text);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    answer(a: Answer) {
      next = a;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
