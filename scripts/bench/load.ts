/**
 * A small closed-loop HTTP/1.1 load generator (autocannon-like, no dependency): C
 * keep-alive connections, each sending the same request again as soon as the previous
 * answer is complete, for a fixed time after a warm-up. Raw sockets and a minimal response
 * parser (Content-Length or chunked), so the generator costs far less CPU than the server
 * it measures. Prints one JSON line: requests, rps, latency percentiles, statuses.
 *
 *   node --import tsx scripts/bench/load.ts --url http://127.0.0.1:PORT/path
 *        [--connections 32] [--duration 10] [--warmup 2] [--header 'authorization: Bearer ...']
 */
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { percentile, round } from './util.ts';

export interface LoadResult {
  connections: number;
  durationS: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  statuses: Record<string, number>;
  errors: number;
  /** Every answer, warm-up included (CPU per request is measured over the whole run). */
  answered: number;
  /** CPU this generator used, warm-up included, ms. */
  cpuMs: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/** Parses one response at the front of `buf`: its status and length, or null when incomplete. */
export function parseResponse(buf: Buffer): { status: number; length: number } | null {
  const headEnd = buf.indexOf(CRLF2);
  if (headEnd < 0) return null;
  const head = buf.toString('latin1', 0, headEnd);
  const status = Number(head.slice(9, 12));
  const bodyStart = headEnd + 4;
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const end = bodyStart + Number(cl[1]);
    return buf.length >= end ? { status, length: end } : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf(CRLF, at);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        // No trailers from node's server: the last chunk is "0\r\n\r\n".
        const end = lineEnd + 4;
        return buf.length >= end ? { status, length: end } : null;
      }
      at = lineEnd + 2 + size + 2;
      if (buf.length < at) return null;
    }
  }
  // No body framing (e.g. 204/304): the head is the whole response.
  return { status, length: bodyStart };
}

export async function runLoad(opts: {
  url: string;
  connections: number;
  durationS: number;
  warmupS: number;
  headers?: Record<string, string>;
  method?: string;
}): Promise<LoadResult> {
  const u = new URL(opts.url);
  const lines = [`${opts.method ?? 'GET'} ${u.pathname}${u.search} HTTP/1.1`, `host: ${u.host}`, 'connection: keep-alive'];
  for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
  const request = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');

  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let answered = 0;
  const cpu0 = process.cpuUsage();
  let measuring = false;
  let stopping = false;
  let measureStart = 0;
  let measureEnd = 0;

  const sockets: net.Socket[] = [];
  const connection = () =>
    new Promise<void>((resolveConn) => {
      const socket = net.connect({ host: u.hostname, port: Number(u.port) });
      sockets.push(socket);
      socket.setNoDelay(true);
      let buf: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      let counted = false;
      const send = () => {
        if (stopping) {
          socket.end();
          return;
        }
        sentAt = performance.now();
        counted = measuring;
        socket.write(request);
      };
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
        for (;;) {
          const r = parseResponse(buf);
          if (!r) return;
          buf = buf.subarray(r.length);
          const done = performance.now();
          answered++;
          // Only requests sent and answered inside the measured window count.
          if (counted && measuring) {
            latencies.push(done - sentAt);
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          }
          send();
        }
      });
      socket.on('error', () => {
        errors++;
      });
      socket.on('close', () => resolveConn());
    });

  const all = Promise.all(Array.from({ length: opts.connections }, connection));
  await new Promise((r) => setTimeout(r, opts.warmupS * 1000));
  measuring = true;
  measureStart = performance.now();
  await new Promise((r) => setTimeout(r, opts.durationS * 1000));
  measuring = false;
  measureEnd = performance.now();
  stopping = true;
  // Connections end after their request in flight; any that hang are cut after 2 s.
  const cut = setTimeout(() => sockets.forEach((s) => s.destroy()), 2000);
  await all;
  clearTimeout(cut);

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => percentile(latencies, p);
  const r2 = (n: number) => round(n, 2);
  const seconds = (measureEnd - measureStart) / 1000;
  return {
    connections: opts.connections,
    durationS: r2(seconds),
    requests: latencies.length,
    rps: Math.round(latencies.length / seconds),
    p50Ms: r2(pct(0.5)),
    p90Ms: r2(pct(0.9)),
    p99Ms: r2(pct(0.99)),
    maxMs: r2(latencies[latencies.length - 1] ?? NaN),
    statuses,
    errors,
    answered,
    cpuMs: Math.round((process.cpuUsage(cpu0).user + process.cpuUsage(cpu0).system) / 1000),
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      connections: { type: 'string', default: '32' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      header: { type: 'string', multiple: true, default: [] },
    },
  });
  if (!values.url) {
    console.error('usage: load.ts --url http://127.0.0.1:PORT/path [--connections 32] [--duration 10] [--warmup 2] [--header "name: value"]');
    process.exit(2);
  }
  const headers: Record<string, string> = {};
  for (const h of values.header) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const result = await runLoad({
    url: values.url,
    connections: Number(values.connections),
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
    headers,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
