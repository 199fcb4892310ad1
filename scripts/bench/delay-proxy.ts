/**
 * A TCP proxy on 127.0.0.1 that holds every client->server chunk for `delayMs` before
 * forwarding it (in order); server->client bytes pass straight through. One
 * request/response exchange therefore costs one delay, whatever the protocol (Postgres
 * wire protocol, HTTP/1.1 keep-alive), like a remote service one network round trip away.
 * Connecting is not delayed; the first bytes sent on a new connection are.
 */
import net from 'node:net';

export interface DelayProxy {
  port: number;
  /** host:port, for building URLs. */
  address: string;
  setDelay(ms: number): void;
  /** Client->server chunks forwarded so far (a rough count of exchanges). */
  readonly chunks: number;
  close(): Promise<void>;
}

export async function startDelayProxy(target: { host?: string; port: number }, delayMs = 0): Promise<DelayProxy> {
  let delay = delayMs;
  let chunks = 0;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((client) => {
    client.setNoDelay(true);
    const upstream = net.connect({ host: target.host ?? '127.0.0.1', port: target.port });
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    const queue: Array<{ at: number; data: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const drain = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length && queue[0]!.at <= now + 0.5) {
        chunks++;
        upstream.write(queue.shift()!.data);
      }
      if (queue.length) timer = setTimeout(drain, queue[0]!.at - now);
    };
    client.on('data', (data: Buffer) => {
      if (delay <= 0 && queue.length === 0) {
        chunks++;
        upstream.write(data);
        return;
      }
      // Each chunk is held `delay` from its arrival: chunks of one message (a large body
      // split by TCP) are held together, not one after the other.
      queue.push({ at: performance.now() + delay, data });
      if (!timer) timer = setTimeout(drain, delay);
    });
    upstream.on('data', (data: Buffer) => client.write(data));
    const end = () => {
      if (timer) clearTimeout(timer);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    port,
    address: `127.0.0.1:${port}`,
    setDelay: (ms) => {
      delay = Math.max(0, ms);
    },
    get chunks() {
      return chunks;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
