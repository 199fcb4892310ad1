/**
 * The Upstash Redis REST client the rate limiter runs on: the commands @upstash/ratelimit
 * calls (EVALSHA, EVAL, GET, SET), sent with node:http(s) over kept-alive connections.
 *
 * Why not @upstash/redis: it sends through Node's fetch, which costs about 1 ms of CPU per
 * call on Node 20 (node:http: about 0.3 ms) and ~10 ms more at a cold start, and it brings
 * ~100 KB of command classes the limiter never uses. GET subscription's throughput and
 * cold start are measured with it (`npm run bench`, README).
 *
 * Protocol (https://upstash.com/docs/redis/features/restapi, as @upstash/redis 1.39
 * speaks it): POST /pipeline with `[["EVALSHA", ...], ...]` and `Authorization: Bearer`,
 * answered `[{"result": ...} | {"error": "..."}, ...]` in order, or `{"error": "..."}` with
 * a 4xx. Commands issued in the same turn of the event loop go out in one request, as
 * @upstash/redis's auto-pipelining does, so checking both limits costs one round trip.
 */
import type { Redis } from '@upstash/redis';
// Both, statically: importing on the first request cost that request more than loading them
// with the rest (A/B, subscription cold start), and TLS is loaded anyway (postgres.js needs it).
import * as http from 'node:http';
import * as https from 'node:https';
import type { Config } from './config.ts';
import { agentFor, openAtFirstRequest, parkConnection } from './preconnect.ts';

/** What @upstash/ratelimit calls: EVALSHA (EVAL when Redis answers NOSCRIPT), GET and SET for dynamic limits. */
export type LimiterRedis = Pick<Redis, 'evalsha' | 'eval' | 'get' | 'set'>;

export class UpstashError extends Error {
  override name = 'UpstashError';
}

export interface UpstashOptions {
  url: string;
  token: string;
  /** Network failures retried (a dead kept-alive socket after a frozen Lambda thaws is one). */
  retries?: number;
  retryDelayMs?: number;
  /** A request unanswered this long is abandoned (its socket destroyed). */
  timeoutMs?: number;
}

type Reply = { result?: unknown; error?: string };

/** At most this many commands per request (@upstash/redis's auto-pipeline uses the same bound). */
const MAX_BATCH = 1000;

/** Arguments as @upstash/redis sends them: strings, numbers and booleans as they are, the rest as JSON. */
const serialize = (v: unknown) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : JSON.stringify(v));

/** Results as @upstash/redis's automatic deserialization gives them: JSON strings parsed where that round-trips. */
function deserialize(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deserialize);
  if (typeof v !== 'string') return v;
  try {
    const parsed: unknown = JSON.parse(v);
    return typeof parsed === 'number' && String(parsed) !== v ? v : parsed;
  } catch {
    return v;
  }
}

// Functions with a rate limit open Upstash's connection at the start of a cold instance's
// first request, beside the others (shared/preconnect.ts).
openAtFirstRequest((cfg: Config) => {
  if (cfg.UPSTASH_REDIS_REST_URL && cfg.UPSTASH_REDIS_REST_TOKEN) parkConnection(cfg.UPSTASH_REDIS_REST_URL);
});

export function createUpstashClient(opts: UpstashOptions): LimiterRedis {
  const endpoint = new URL(`${opts.url.replace(/\/+$/, '')}/pipeline`);
  if (endpoint.protocol !== 'https:' && endpoint.protocol !== 'http:') throw new UpstashError(`not an http(s) URL: ${endpoint.protocol}`);
  const retries = opts.retries ?? 1;
  const retryDelayMs = opts.retryDelayMs ?? 20;
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const headers = { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' };
  // Keep-alive; the first request takes the connection opened at the start of a cold request.
  const agent = agentFor(endpoint);
  const request = endpoint.protocol === 'https:' ? https.request : http.request;

  function post(body: string): Promise<Reply[]> {
    return new Promise((resolve, reject) => {
      const req = request(endpoint, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          let answer: unknown;
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reject(new UpstashError(`Upstash answered ${res.statusCode} without JSON`));
          }
          if (res.statusCode === 200 && Array.isArray(answer)) return resolve(answer as Reply[]);
          const error = (answer as Reply | null)?.error;
          reject(new UpstashError(typeof error === 'string' ? error : `Upstash answered ${res.statusCode}`));
        });
      });
      req.on('timeout', () => req.destroy(new UpstashError(`no answer from Upstash in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  async function postWithRetries(body: string): Promise<Reply[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await post(body);
      } catch (err) {
        // Redis's own answers (UpstashError) are final; a network failure is retried.
        if (err instanceof UpstashError || attempt >= retries) throw err;
        await new Promise((r) => setTimeout(r, retryDelayMs));
      }
    }
  }

  interface Pending {
    command: unknown[];
    resolve(v: unknown): void;
    reject(e: unknown): void;
  }
  let queue: Pending[] = [];

  function flush(): void {
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += MAX_BATCH) {
      const batch = all.slice(i, i + MAX_BATCH);
      postWithRetries(JSON.stringify(batch.map((p) => p.command))).then(
        (replies) =>
          batch.forEach((p, j) => {
            const r = replies[j];
            if (!r) p.reject(new UpstashError('Upstash answered fewer results than commands'));
            else if (r.error !== undefined) p.reject(new UpstashError(r.error));
            else p.resolve(deserialize(r.result));
          }),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      );
    }
  }

  function send<T>(...command: unknown[]): Promise<T> {
    return new Promise<unknown>((resolve, reject) => {
      queue.push({ command: command.map(serialize), resolve, reject });
      if (queue.length === 1) setImmediate(flush);
    }) as Promise<T>;
  }

  return {
    evalsha: (sha, keys, args) => send('evalsha', sha, keys.length, ...keys, ...args),
    eval: (script, keys, args) => send('eval', script, keys.length, ...keys, ...args),
    get: (key) => send('get', key),
    set: (key, value, setOptions) => {
      if (setOptions) throw new UpstashError('SET options are not supported by this client');
      return send('set', key, value);
    },
  };
}
