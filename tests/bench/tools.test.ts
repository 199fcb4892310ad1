/**
 * The benchmark's own instruments (scripts/bench), checked fast and without services: the
 * delay the round-trip benchmark puts on every dependency (dev/tcp-proxy.ts's setDelay)
 * costs one delay per request/response exchange (not per chunk, not per direction), the
 * load generator's response parser frames what node's server sends, and the usage
 * benchmark's output is read. The benchmarks themselves are run by `npm run bench`.
 */
import { createServer as createHttpServer, request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startTcpProxy } from '../../dev/tcp-proxy.ts';
import { parseResponse, runLoad } from '../../scripts/bench/load.ts';
import { parseUsageOutput } from '../../scripts/bench/usage-ingest.ts';
import { median, percentile, shuffle } from '../../scripts/bench/util.ts';

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers) await c();
});

/** An echo server: answers each chunk with the same bytes. */
async function echo(): Promise<number> {
  const server: Server = createServer((s) => s.on('data', (d) => s.write(d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as { port: number }).port;
}

describe('delay proxy', () => {
  it('costs one delay per exchange, and chunks sent together are held together', async () => {
    const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: await echo() } });
    proxy.setDelay(40);
    closers.push(() => proxy.close());
    const { connect } = await import('node:net');
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    await new Promise<void>((r) => socket.once('connect', () => r()));
    const exchange = (chunks: string[]) =>
      new Promise<number>((resolve) => {
        const want = chunks.join('').length;
        let got = 0;
        const t = performance.now();
        const onData = (d: Buffer) => {
          got += d.length;
          if (got >= want) {
            socket.off('data', onData);
            resolve(performance.now() - t);
          }
        };
        socket.on('data', onData);
        for (const c of chunks) socket.write(c);
      });
    const one = await exchange(['ping']);
    const split = await exchange(['a'.repeat(10), 'b'.repeat(10), 'c'.repeat(10)]);
    const two = (await exchange(['x'])) + (await exchange(['y']));
    socket.destroy();
    expect(one).toBeGreaterThanOrEqual(39);
    expect(one).toBeLessThan(100);
    expect(split).toBeLessThan(100);
    expect(two).toBeGreaterThanOrEqual(78);
    // TCP may coalesce the three writes; each exchange went through at least once.
    expect(proxy.stats.chunksUp).toBeGreaterThanOrEqual(4);
  });
});

describe('delay proxy with the TCP handshake counted', () => {
  it("a new connection's first exchange costs two delays (SYN, then the request), the next ones one", async () => {
    const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: await echo() }, handshake: true });
    proxy.setDelay(40);
    closers.push(() => proxy.close());
    const { connect } = await import('node:net');
    const t = performance.now();
    const socket = connect({ host: '127.0.0.1', port: proxy.port });
    const roundTrip = (text: string) =>
      new Promise<number>((resolve) => {
        socket.once('data', () => resolve(performance.now()));
        socket.write(text);
      });
    const first = (await roundTrip('hello')) - t;
    const t2 = performance.now();
    const second = (await roundTrip('again')) - t2;
    socket.destroy();
    expect(first).toBeGreaterThanOrEqual(79);
    expect(first).toBeLessThan(140);
    expect(second).toBeGreaterThanOrEqual(39);
    expect(second).toBeLessThan(79);
  });
});

describe('load generator', () => {
  it('frames Content-Length, chunked and bodiless responses, and leaves the next one alone', () => {
    const a = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhelloHTTP/1.1 2');
    expect(parseResponse(a)).toEqual({ status: 200, length: a.length - 'HTTP/1.1 2'.length });
    const chunked = Buffer.from('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n');
    expect(parseResponse(chunked)).toEqual({ status: 201, length: chunked.length });
    expect(parseResponse(chunked.subarray(0, chunked.length - 2))).toBeNull();
    const empty = Buffer.from('HTTP/1.1 204 No Content\r\nx: y\r\n\r\n');
    expect(parseResponse(empty)).toEqual({ status: 204, length: empty.length });
    expect(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhel'))).toBeNull();
  });

  it('drives a node server for a fixed time and counts what came back', async () => {
    const server = createHttpServer((req, res) => {
      const chunked = req.url === '/chunked';
      res.writeHead(200, { 'content-type': 'application/json' });
      if (chunked) res.write('{"a":');
      res.end(chunked ? '1}' : '{"a":1}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));
    const { port } = server.address() as { port: number };
    for (const path of ['/', '/chunked']) {
      const r = await runLoad({ url: `http://127.0.0.1:${port}${path}`, connections: 4, durationS: 0.3, warmupS: 0.1, headers: { authorization: 'Bearer x' } });
      expect(r.requests).toBeGreaterThan(10);
      expect(r.statuses).toEqual({ 200: r.requests });
      expect(r.errors).toBe(0);
      expect(r.p50Ms).toBeLessThanOrEqual(r.p99Ms);
    }
    // The server is still usable afterwards (connections were ended cleanly).
    const status = await new Promise<number>((resolve, reject) =>
      request(`http://127.0.0.1:${port}/`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end(),
    );
    expect(status).toBe(200);
  });
});

describe('helpers', () => {
  it('statistics and the seeded shuffle', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBe(5);
    expect(shuffle([1, 2, 3, 4, 5], 7)).toEqual(shuffle([1, 2, 3, 4, 5], 7));
    expect([...shuffle([1, 2, 3, 4, 5], 7)].sort()).toEqual([1, 2, 3, 4, 5]);
    // It does reorder, and the seed matters (a shuffle that returned its input would pass the two above).
    const input = Array.from({ length: 20 }, (_, i) => i);
    expect(shuffle(input, 7)).not.toEqual(input);
    expect(shuffle(input, 7)).not.toEqual(shuffle(input, 8));
    expect(input).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("reads scripts/bench-usage.ts's figures from its output", () => {
    const out = [
      'usage benchmark: 200000 records, 200 customers over 6 h, batches of 1000, 4 concurrent HTTP calls',
      '  ingest    47557 records/s (4.21 s, 200000 accepted)   goal >= 5000: ok',
      '  baseline  76445 rows/s (same rows, one INSERT ... SELECT, same indexes, 2.62 s)',
      '  ratio     ingest / baseline = 0.62',
      '  report    1400 meter events in 5.92 s, stopped: done',
      '  Stripe    1400 meter event calls; customers x windows = 1400: ok',
      '  totals    Stripe holds 600000, recorded 600000: ok',
    ].join('\n');
    expect(parseUsageOutput(out)).toEqual({
      recordsPerSecond: 47557,
      baselineRowsPerSecond: 76445,
      ratioToBaseline: 0.62,
      reportedMeterEvents: 1400,
      reportSeconds: 5.92,
      stripeCalls: 1400,
      customersTimesWindows: 1400,
      totalsMatch: true,
    });
    expect(parseUsageOutput('something else entirely')).toEqual({});
  });
});
