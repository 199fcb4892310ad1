/** dev/tcp-proxy.ts itself, against a small TCP echo server: what each fault looks like to a client. */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../../dev/tcp-proxy.ts';

let echo: net.Server;
let echoPort: number;
/** Bytes the echo server received, per connection, in order of connection. */
const received: Buffer[][] = [];
let proxy: TcpProxy;

beforeAll(async () => {
  echo = net.createServer((socket) => {
    const mine: Buffer[] = [];
    received.push(mine);
    socket.on('data', (d) => {
      mine.push(d);
      socket.write(d);
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as net.AddressInfo).port;
  proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: echoPort } });
});
afterEach(async () => {
  proxy.disarm();
  proxy.setDelay(0);
  await proxy.setDown(false);
  proxy.dropAll();
});
afterAll(async () => {
  await proxy.close();
  await new Promise<void>((r) => echo.close(() => r()));
});

interface Client {
  socket: net.Socket;
  /** Resolves with what came back once `n` bytes did. */
  read(n: number): Promise<string>;
  /** Resolves with the error code (or 'closed') when the connection ends. */
  ended: Promise<string>;
}

function connect(): Client {
  const socket = net.connect({ host: '127.0.0.1', port: proxy.port });
  let buf = '';
  const waiters: Array<() => void> = [];
  socket.on('data', (d) => {
    buf += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  const ended = new Promise<string>((resolve) => {
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    socket.once('close', () => resolve('closed'));
  });
  return {
    socket,
    ended,
    read: (n) => new Promise((resolve) => {
      const check = () => (buf.length >= n ? resolve(buf.slice(0, n)) : waiters.push(check));
      check();
    }),
  };
}

describe('tcp proxy', () => {
  it('forwards both ways and rewrites URLs to itself', async () => {
    const c = connect();
    c.socket.write('hello');
    expect(await c.read(5)).toBe('hello');
    expect(proxy.rewriteUrl('postgres://u:p@db.example:5432/app?x=1')).toBe(`postgres://u:p@127.0.0.1:${proxy.port}/app?x=1`);
    c.socket.destroy();
  });

  it('setDelay holds each client chunk that long, in order', async () => {
    const c = connect();
    c.socket.write('a');
    expect(await c.read(1)).toBe('a');
    proxy.setDelay(150);
    const started = performance.now();
    c.socket.write('b');
    setTimeout(() => c.socket.write('c'), 20);
    expect(await c.read(3)).toBe('abc');
    expect(performance.now() - started).toBeGreaterThanOrEqual(160);
    c.socket.destroy();
  });

  it('setDown: reset (ECONNRESET for open and new connections), refuse (ECONNREFUSED), and back up', async () => {
    const open = connect();
    open.socket.write('x');
    await open.read(1);
    await proxy.setDown(true);
    expect(await open.ended).toBe('ECONNRESET');
    const fresh = connect();
    expect(await fresh.ended).toBe('ECONNRESET');
    await proxy.setDown(true, 'refuse');
    expect(await connect().ended).toBe('ECONNREFUSED');
    await proxy.setDown(false);
    const again = connect();
    again.socket.write('up');
    expect(await again.read(2)).toBe('up');
    again.socket.destroy();
  });

  it('setDown blackhole: connections stay open and nothing gets through', async () => {
    await proxy.setDown(true, 'blackhole');
    const c = connect();
    c.socket.write('lost');
    const got = await Promise.race([c.read(1), sleep(200).then(() => 'nothing')]);
    expect(got).toBe('nothing');
    expect(c.socket.destroyed).toBe(false);
    c.socket.destroy();
  });

  it('dropAll resets every open connection', async () => {
    const a = connect();
    const b = connect();
    a.socket.write('1');
    b.socket.write('2');
    await Promise.all([a.read(1), b.read(1)]);
    expect(proxy.dropAll()).toBe(2);
    expect(await Promise.all([a.ended, b.ended])).toEqual(['ECONNRESET', 'ECONNRESET']);
  });

  it('dropAfter(n) forwards exactly n more client bytes, then cuts that connection', async () => {
    const before = received.length;
    const c = connect();
    c.socket.write('abc');
    await c.read(3);
    const cut = proxy.dropAfter(5);
    c.socket.write('defghijk');
    expect(await cut).toMatchObject({ direction: 'up', forwarded: 5 });
    expect(await c.ended).toBe('ECONNRESET');
    await sleep(20);
    expect(Buffer.concat(received[before]!).toString()).toBe('abcdefgh');
  });

  it('dropAfter(predicate) can cut an answer on its way back, and watch/drop act on one connection', async () => {
    const seen: string[] = [];
    const unwatch = proxy.watch((chunk) => seen.push(`${chunk.connection.id}:${chunk.direction}:${chunk.text}`));
    const a = connect();
    const b = connect();
    a.socket.write('ping');
    await a.read(4);
    b.socket.write('pong');
    await b.read(4);
    const cut = proxy.dropAfter((chunk) => chunk.direction === 'down' && chunk.text === 'lost');
    a.socket.write('lost');
    expect((await cut).direction).toBe('down');
    expect(await a.ended).toBe('ECONNRESET');
    // b is untouched; then dropped on its own.
    b.socket.write('still');
    expect(await b.read(9)).toBe('pongstill');
    expect(proxy.connections()).toHaveLength(1);
    const [bId] = proxy.connections().map((x) => x.id);
    expect(proxy.drop(bId!)).toBe(true);
    expect(await b.ended).toBe('ECONNRESET');
    unwatch();
    expect(seen.some((x) => x.endsWith(':up:ping'))).toBe(true);
    expect(seen.some((x) => x.endsWith(':down:lost'))).toBe(true);
  });
});
