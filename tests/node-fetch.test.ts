/**
 * supabase-js runs on shared/node-fetch.ts in production (so its first request can take the
 * connection a cold instance opened at its start): it must answer as fetch does for what
 * supabase-js sends (method, headers, a JSON body, an abort signal), fail as fetch does
 * (TypeError on the network, AbortError on abort), and take the parked connection.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { nodeFetch } from '../shared/node-fetch.ts';
import { parkConnection } from '../shared/preconnect.ts';

let server: Server;
let base: string;
const connections: number[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 2000);
      if (req.url === '/empty') return void res.writeHead(204).end();
      res.writeHead(201, { 'content-type': 'application/json', 'x-seen': String(req.headers.apikey) });
      res.end(JSON.stringify({ method: req.method, body: Buffer.concat(chunks).toString() }));
    });
  });
  server.on('connection', () => connections.push(Date.now()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

it('sends method, headers and body, and answers a Response with status, headers and body', async () => {
  const f = nodeFetch(base);
  const res = await f(`${base}/rest/v1/rpc/x`, { method: 'POST', headers: { apikey: 'k', 'content-type': 'application/json' }, body: '{"p":1}' });
  expect(res.status).toBe(201);
  expect(res.ok).toBe(true);
  expect(res.headers.get('x-seen')).toBe('k');
  expect(await res.json()).toEqual({ method: 'POST', body: '{"p":1}' });
  expect((await f(`${base}/empty`)).status).toBe(204);
});

it('fails as fetch does: TypeError when nothing listens, AbortError when aborted', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const dead = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((r) => closed.close(() => r()));
  await expect(nodeFetch(dead)(`${dead}/x`)).rejects.toBeInstanceOf(TypeError);
  const err = await nodeFetch(base)(`${base}/slow`, { signal: AbortSignal.timeout(50) }).catch((e: unknown) => e);
  expect((err as Error).name).toMatch(/AbortError|TimeoutError/);
});

it('takes the connection opened before the first request', async () => {
  parkConnection(base);
  await new Promise((r) => setTimeout(r, 100));
  const before = connections.length;
  const res = await nodeFetch(base)(`${base}/rest/v1/rpc/y`, { method: 'POST', body: '{}' });
  expect(res.status).toBe(201);
  expect(connections.length).toBe(before);
});
