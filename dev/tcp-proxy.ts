/**
 * A TCP proxy on 127.0.0.1 for fault tests: put it in front of Postgres (or any TCP
 * service, HTTP included) and make that service slow, unreachable, or lose a connection
 * at a chosen moment, while the client under test talks to it unchanged.
 *
 *   const proxy = await startTcpProxy({ target: { host: '127.0.0.1', port: 5432 } });
 *   process.env.DATABASE_URL = proxy.rewriteUrl(databaseUrl);   // same URL, via the proxy
 *   proxy.setDelay(2000);               // every client->server chunk held 2 s
 *   startTcpProxy({ target, handshake: true })   // and a new connection's TCP handshake costs one delay too
 *   proxy.setDown(true);                // reset every connection, open and new (ECONNRESET)
 *   proxy.setDown(true, 'refuse');      // stop listening (ECONNREFUSED)
 *   proxy.setDown(true, 'blackhole');   // accept, then never answer (timeouts)
 *   proxy.dropAll();                    // reset every open connection now
 *   await proxy.dropAfter(100);         // cut the connection that carries the next 100th client byte
 *   await proxy.dropAfter((c) => c.direction === 'up' && c.text.includes('billing_apply_event') ? c.data.length : false);
 *   proxy.watch((c) => ...); proxy.connections(); proxy.drop(id);   // observe, and cut one connection
 *
 * Cutting means a TCP reset on both sides (`resetAndDestroy`): the client sees ECONNRESET
 * (or its driver's "connection closed"), the server sees its client vanish.
 */
import net from 'node:net';

export type Direction = 'up' | 'down';

export interface ConnectionInfo {
  /** 1, 2, ...: in the order the proxy accepted them. */
  id: number;
  /** Client->server bytes forwarded so far on this connection. */
  bytesUp: number;
  /** Server->client bytes forwarded so far on this connection. */
  bytesDown: number;
}

export interface ChunkInfo {
  /** `up`: client to server; `down`: server to client. */
  direction: Direction;
  data: Buffer;
  /** The chunk as latin1 text, to look for a query or an HTTP path in it. */
  text: string;
  connection: ConnectionInfo;
}

/**
 * Says what to do with a chunk: `false`/`undefined` forwards it; `true` cuts the connection
 * before any of it is forwarded; a number `n` forwards its first `n` bytes, then cuts
 * (`data.length`: the whole chunk arrives, then the connection is gone).
 */
export type DropPredicate = (chunk: ChunkInfo) => boolean | number | undefined;

export interface DropResult {
  connection: number;
  direction: Direction;
  /** Bytes of the triggering chunk that were forwarded before the cut. */
  forwarded: number;
}

export type DownMode = 'reset' | 'refuse' | 'blackhole';

export interface TcpProxy {
  host: string;
  port: number;
  /** `host:port`. */
  address: string;
  /** `url` with its host and port replaced by the proxy's (postgres://, http://, ...). */
  rewriteUrl(url: string): string;
  /** Holds every client->server chunk `ms` before forwarding it, in order: one exchange costs one delay. */
  setDelay(ms: number): void;
  /**
   * Down: `reset` (default) resets open connections and every new one; `refuse` also stops
   * listening, so connecting fails with ECONNREFUSED; `blackhole` keeps every connection
   * open but loses every byte, both ways, and accepts new ones without ever connecting
   * them: clients wait for their own timeouts. `setDown(false)` restores service for new
   * connections; after a blackhole, `dropAll()` the open ones (their protocol state is lost).
   */
  setDown(down: boolean, mode?: DownMode): Promise<void>;
  /** Resets every open connection now; returns how many. */
  dropAll(): number;
  /**
   * Arms a one-shot cut. A number: the connection that carries the `n`th client->server
   * byte from now is cut right after that byte (the rest of its chunk is not forwarded).
   * A predicate: asked for each chunk, both ways (see DropPredicate). Resolves when it fired.
   */
  dropAfter(trigger: number | DropPredicate): Promise<DropResult>;
  /** Disarms a pending dropAfter (its promise never resolves). */
  disarm(): void;
  /** Calls `listener` with every chunk, both ways, before it is forwarded; returns a function that stops it. */
  watch(listener: (chunk: ChunkInfo) => void): () => void;
  /** The open connections. */
  connections(): ConnectionInfo[];
  /** Resets one connection (by its id) now; false when it is not open. */
  drop(id: number): boolean;
  /** Open connections now. */
  readonly open: number;
  stats: { connections: number; bytesUp: number; bytesDown: number; dropped: number; /** client->server chunks forwarded: a rough count of exchanges */ chunksUp: number };
  close(): Promise<void>;
}

interface Pair {
  info: ConnectionInfo;
  client: net.Socket;
  upstream: net.Socket | null;
  cut: boolean;
}

interface Armed {
  predicate: DropPredicate;
  resolve: (r: DropResult) => void;
}

export async function startTcpProxy(opts: {
  target: { host?: string; port: number };
  host?: string;
  port?: number;
  /**
   * The TCP handshake costs one delay as well (a round trip over a real network): nothing a
   * client sends on a new connection leaves before one delay after it connected, then it is
   * held the delay like any chunk. On loopback the kernel completes the handshake at once.
   */
  handshake?: boolean;
}): Promise<TcpProxy> {
  const host = opts.host ?? '127.0.0.1';
  const targetHost = opts.target.host ?? '127.0.0.1';
  let delay = 0;
  let down: DownMode | null = null;
  let armed: Armed | null = null;
  const watchers = new Set<(chunk: ChunkInfo) => void>();
  let nextId = 0;
  const pairs = new Set<Pair>();
  const stats = { connections: 0, bytesUp: 0, bytesDown: 0, dropped: 0, chunksUp: 0 };

  /** Drops a connection: a reset on both sides, not a polite FIN (a crashed server, a broken network). */
  const cut = (pair: Pair): void => {
    if (pair.cut) return;
    pair.cut = true;
    stats.dropped++;
    for (const s of [pair.client, pair.upstream]) {
      if (!s || s.destroyed) continue;
      if (s.connecting) s.destroy();
      else s.resetAndDestroy();
    }
    pairs.delete(pair);
  };

  /** One side closed by itself: close the other too (not counted as a drop). */
  const closed = (pair: Pair): void => {
    if (pair.cut) return;
    pair.cut = true;
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };

  /** Forwards `data` unless an armed drop says otherwise; false when the pair was cut. */
  const pass = (pair: Pair, direction: Direction, data: Buffer, write: (b: Buffer) => void): boolean => {
    if (pair.cut) return false;
    const info = (): ChunkInfo => ({ direction, data, text: data.toString('latin1'), connection: { ...pair.info } });
    if (watchers.size) {
      const chunk = info();
      for (const w of watchers) w(chunk);
    }
    if (armed) {
      const verdict = armed.predicate(info());
      if (verdict !== false && verdict !== undefined) {
        const n = verdict === true ? 0 : Math.max(0, Math.min(data.length, Math.floor(verdict)));
        const { resolve } = armed;
        armed = null;
        if (n > 0) {
          write(data.subarray(0, n));
          count(pair, direction, n);
        }
        // Let the forwarded bytes leave before the reset (a reset discards unsent data).
        const target = direction === 'up' ? pair.upstream : pair.client;
        const finish = () => {
          cut(pair);
          resolve({ connection: pair.info.id, direction, forwarded: n });
        };
        if (n > 0 && target && target.writableLength > 0) target.once('drain', () => setImmediate(finish));
        else if (n > 0) setImmediate(finish);
        else finish();
        return false;
      }
    }
    write(data);
    count(pair, direction, data.length);
    return true;
  };

  const count = (pair: Pair, direction: Direction, n: number) => {
    if (direction === 'up') {
      pair.info.bytesUp += n;
      stats.bytesUp += n;
      stats.chunksUp++;
    } else {
      pair.info.bytesDown += n;
      stats.bytesDown += n;
    }
  };

  const onConnection = (client: net.Socket): void => {
    stats.connections++;
    client.setNoDelay(true);
    const pair: Pair = { info: { id: ++nextId, bytesUp: 0, bytesDown: 0 }, client, upstream: null, cut: false };
    pairs.add(pair);
    client.on('error', () => closed(pair));
    client.on('close', () => closed(pair));
    if (down === 'reset' || down === 'refuse') {
      cut(pair);
      return;
    }
    if (down === 'blackhole') {
      // Accepted, never connected: the client's bytes go nowhere and nothing comes back.
      client.on('data', () => undefined);
      return;
    }
    const upstream = net.connect({ host: targetHost, port: opts.target.port });
    pair.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => closed(pair));
    upstream.on('close', () => closed(pair));
    // Half-closes pass through (a client's Terminate then FIN, an HTTP server's FIN).
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());

    // With `handshake`: the client's first bytes could not have left before the SYN-ACK came back.
    const openAt = opts.handshake ? performance.now() + delay : 0;
    const queue: Array<{ at: number; data: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const writeUp = (b: Buffer) => upstream.write(b);
    const drain = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length && queue[0]!.at <= now + 0.5) {
        const { data } = queue.shift()!;
        if (down === 'blackhole') continue; // lost on the way
        if (!pass(pair, 'up', data, writeUp)) return;
      }
      if (queue.length && !pair.cut) timer = setTimeout(drain, Math.max(1, queue[0]!.at - now));
    };
    client.on('close', () => timer && clearTimeout(timer));
    client.on('data', (data: Buffer) => {
      if (pair.cut || down === 'blackhole') return; // blackhole: lost on the way
      const now = performance.now();
      if (delay <= 0 && queue.length === 0 && now >= openAt) {
        pass(pair, 'up', data, writeUp);
        return;
      }
      // Each chunk is held `delay` from its arrival (or from the end of the handshake); order is kept.
      const at = Math.max(now, openAt) + Math.max(0, delay);
      queue.push({ at, data });
      if (!timer) timer = setTimeout(drain, Math.max(1, at - now));
    });
    upstream.on('data', (data: Buffer) => {
      if (down === 'blackhole') return; // swallowed: the server's answer never arrives
      pass(pair, 'down', data, (b) => client.write(b));
    });
  };

  let server = net.createServer(onConnection);
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  const port = await listen(opts.port ?? 0);
  let listening = true;

  const closeServer = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
    });

  return {
    host,
    port,
    address: `${host}:${port}`,
    rewriteUrl(url: string) {
      const u = new URL(url);
      u.hostname = host;
      u.port = String(port);
      return u.toString();
    },
    setDelay(ms: number) {
      delay = Math.max(0, ms);
    },
    async setDown(isDown: boolean, mode: DownMode = 'reset') {
      if (!isDown) {
        down = null;
        if (!listening) {
          server = net.createServer(onConnection);
          await listen(port);
          listening = true;
        }
        return;
      }
      down = mode;
      if (mode === 'blackhole') return;
      for (const pair of [...pairs]) cut(pair);
      if (mode === 'refuse') await closeServer();
    },
    dropAll() {
      const open = [...pairs];
      for (const pair of open) cut(pair);
      return open.length;
    },
    dropAfter(trigger: number | DropPredicate) {
      let predicate: DropPredicate;
      if (typeof trigger === 'number') {
        let left = Math.max(1, Math.floor(trigger));
        predicate = (c) => {
          if (c.direction !== 'up') return false;
          if (c.data.length < left) {
            left -= c.data.length;
            return false;
          }
          return left;
        };
      } else {
        predicate = trigger;
      }
      return new Promise<DropResult>((resolve) => {
        armed = { predicate, resolve };
      });
    },
    disarm() {
      armed = null;
    },
    watch(listener) {
      watchers.add(listener);
      return () => void watchers.delete(listener);
    },
    connections() {
      return [...pairs].map((p) => ({ ...p.info }));
    },
    drop(id: number) {
      const pair = [...pairs].find((p) => p.info.id === id);
      if (pair) cut(pair);
      return Boolean(pair);
    },
    get open() {
      return pairs.size;
    },
    stats,
    async close() {
      armed = null;
      for (const pair of [...pairs]) cut(pair);
      await closeServer();
    },
  };
}
