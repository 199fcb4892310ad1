/**
 * A cold instance opens its connections side by side at the start of its first request,
 * not one after another as each is first needed: TCP and TLS to Postgres, Upstash and
 * Stripe then cost two round trips in all instead of two each, in turn. Each module that
 * owns a connection registers how to open it (`openAtFirstRequest`), so a function opens
 * only what it imports (GET subscription never opens Stripe); shared/endpoint.ts calls
 * `openLinks` once per request, which does something only the first time.
 *
 * HTTPS links (Upstash, Stripe, PostgREST) open a socket that waits, parked, for the first
 * request to its origin: `agentFor(url)` is a keep-alive agent that takes it.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Config } from './config.ts';

type Opener = (cfg: Config) => void;

const openers: Opener[] = [];
let opened = false;

export function openAtFirstRequest(open: Opener): void {
  openers.push(open);
}

/** Opens every registered connection, once per process. */
export function openLinks(cfg: Config): void {
  if (opened) return;
  opened = true;
  for (const open of openers) {
    try {
      open(cfg);
    } catch {
      // A link that cannot open now fails where it is used, and that is handled there.
    }
  }
}

/** A parked socket nobody took is closed after this (a request that never needed it). */
const PARK_MS = 10_000;
const parked = new Map<string, net.Socket>();

const originOf = (url: URL) => `${url.protocol}//${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;

/** Opens TCP (and TLS for https) to `url`'s origin now, for the next request there. */
export function parkConnection(url: string): void {
  const u = new URL(url);
  const origin = originOf(u);
  if (parked.has(origin)) return;
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const socket =
    u.protocol === 'https:'
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host, port });
  socket.setNoDelay(true);
  const drop = () => {
    if (parked.get(origin) === socket) parked.delete(origin);
    socket.destroy();
  };
  socket.on('error', drop);
  socket.on('close', drop);
  setTimeout(drop, PARK_MS).unref();
  parked.set(origin, socket);
}

function takeParked(origin: string): net.Socket | undefined {
  const socket = parked.get(origin);
  if (!socket) return undefined;
  parked.delete(origin);
  socket.removeAllListeners('error');
  socket.removeAllListeners('close');
  return socket.destroyed ? undefined : socket;
}

type CreateConnection = (options: object, callback: (err: Error | null, socket: net.Socket) => void) => net.Socket | undefined;

/** A keep-alive agent for `url`'s origin whose first connection is the parked one, when there is one. */
export function agentFor(url: string | URL): http.Agent {
  const u = new URL(url);
  const origin = originOf(u);
  const agent = u.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  const own = agent as unknown as { createConnection: CreateConnection };
  const create = own.createConnection.bind(agent);
  own.createConnection = (options, callback) => takeParked(origin) ?? create(options, callback);
  return agent;
}
