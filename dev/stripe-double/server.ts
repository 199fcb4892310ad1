/**
 * The HTTP server: /v1 (Stripe's API as stripe-node calls it), /_double (control),
 * and placeholder pages. Every /v1 call is logged, may hit an injected fault, is
 * authenticated, parsed, routed, and (for POSTs with a key) made idempotent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleControl, type ControlDeps } from './control.ts';
import { ApiError, errors, faultError } from './errors.ts';
import type { Faults } from './faults.ts';
import { parseForm, type FormObject } from './form.ts';
import { newId } from './ids.ts';
import { IdempotencyStore, type SavedResponse } from './idempotency.ts';
import { API_VERSION } from './objects/event.ts';
import { placeholderPage } from './pages.ts';
import { rateLimitControl, type RateLimiter } from './rate-limits.ts';
import type { Router } from './router.ts';

export interface RequestLogEntry {
  method: string;
  path: string;
  idempotencyKey?: string;
  /** Wall-clock time the request arrived (ms). */
  at: number;
  requestId: string;
  /** Response status; 0 while in flight or when the connection was reset. */
  status: number;
  /** The response was an idempotent replay. */
  replayed?: boolean;
  /** An injected fault answered this call. */
  fault?: boolean;
  /** Refused by the rate limits (429). */
  rateLimited?: boolean;
  query?: string;
}

export interface ServerDeps {
  /** The secret key the double answers to (index.ts's `apiKey` option). */
  apiKey: string;
  router: Router;
  faults: Faults;
  /** Stripe's request rate limits (off unless set). */
  rateLimits: RateLimiter;
  requestLog: RequestLogEntry[];
  control: ControlDeps;
}

const MAX_BODY = 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, { type: 'invalid_request_error', message: 'Request body too large.' }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The API key from `Authorization: Bearer sk_test_...` (or Basic with the key as user name),
 * which must be the one the double was started with: like Stripe, it refuses a key it does not
 * know, so a mistyped STRIPE_SECRET_KEY shows in development instead of in production.
 */
function apiKey(req: IncomingMessage, known: string): string {
  const auth = header(req, 'authorization');
  if (!auth) throw errors.noApiKey();
  let key: string | undefined;
  const [scheme, value] = auth.split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'bearer') key = value;
  else if (scheme?.toLowerCase() === 'basic' && value) key = Buffer.from(value, 'base64').toString('utf8').split(':')[0];
  if (!key) throw errors.noApiKey();
  if (key !== known) throw errors.invalidApiKey(key);
  return key;
}

function errorResponse(err: ApiError, requestId: string, now: number): SavedResponse {
  const body = { error: { ...err.body, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}?t=${now}` } };
  return { status: err.status, body: JSON.stringify(body, null, 2), headers: { ...err.headers }, requestId };
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>, type = 'application/json'): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createDoubleServer(deps: ServerDeps): Server {
  const idempotency = new IdempotencyStore();

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const requestId = newId.request();
    const idempotencyKey = method === 'POST' ? header(req, 'idempotency-key') : undefined;
    const entry: RequestLogEntry = { method, path, at: Date.now(), requestId, status: 0 };
    if (idempotencyKey) entry.idempotencyKey = idempotencyKey;
    if (url.search) entry.query = url.search.slice(1);
    deps.requestLog.push(entry);
    const baseHeaders: Record<string, string> = {
      'Request-Id': requestId,
      'Stripe-Version': header(req, 'stripe-version') ?? API_VERSION,
    };
    if (idempotencyKey) baseHeaders['Idempotency-Key'] = idempotencyKey;
    const finish = (r: SavedResponse, extra: Record<string, string> = {}) => {
      entry.status = r.status;
      send(res, r.status, r.body, { ...r.headers, ...baseHeaders, 'Original-Request': r.requestId, ...extra });
    };
    const now = Math.floor(Date.now() / 1000);

    let raw: string;
    try {
      raw = await readBody(req);
    } catch (err) {
      finish(errorResponse(err instanceof ApiError ? err : errors.internal(), requestId, now));
      return;
    }

    const fault = deps.faults.take(method, path);
    if (fault) {
      entry.fault = true;
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.reset) {
        req.socket.destroy();
        return;
      }
      finish(errorResponse(faultError(fault.status), requestId, now));
      return;
    }

    try {
      const key = apiKey(req, deps.apiKey);
      const input: FormObject = method === 'POST' ? parseForm(raw) : parseForm(url.search.slice(1));
      const match = deps.router.match(method, path);
      if (match.kind === 'none') throw errors.unrecognizedUrl(method, path);
      // Per account, so after the key; before idempotency, which does not store a 429.
      const limited = deps.rateLimits.admit(method, match.route);
      if (limited) {
        entry.rateLimited = true;
        throw limited;
      }
      const execute = async (): Promise<{ response: SavedResponse; save: boolean }> => {
        try {
          const out = await match.handler({
            params: match.params,
            input,
            origin: { requestId, idempotencyKey: idempotencyKey ?? null },
          });
          return {
            response: { status: 200, body: JSON.stringify(out.body, null, 2), headers: {}, requestId },
            save: true,
          };
        } catch (err) {
          if (err instanceof ApiError) return { response: errorResponse(err, requestId, now), save: err.storeForIdempotency };
          console.error('[stripe-double] handler error', err);
          return { response: errorResponse(errors.internal(), requestId, now), save: false };
        }
      };
      if (!idempotencyKey) {
        finish((await execute()).response);
        return;
      }
      const { response, replayed } = await idempotency.run(key, idempotencyKey, `${method} ${path}`, input, execute);
      if (replayed) entry.replayed = true;
      finish(response, replayed ? { 'Idempotent-Replayed': 'true' } : {});
    } catch (err) {
      if (err instanceof ApiError) {
        finish(errorResponse(err, requestId, now));
        return;
      }
      console.error('[stripe-double] request error', err);
      finish(errorResponse(errors.internal(), requestId, now));
    }
  }

  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://double.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const fail = (err: unknown) => {
      console.error('[stripe-double]', err);
      send(res, 500, JSON.stringify({ error: { type: 'api_error', message: 'Stripe double internal error' } }), {});
    };
    if (path.startsWith('/v1/')) {
      api(req, res, url).catch(fail);
      return;
    }
    if (path === '/_double/rate-limits') {
      readBody(req)
        .then((raw) => rateLimitControl(deps.rateLimits, method, raw))
        .then((r) => send(res, r.status, JSON.stringify(r.body, null, 2), {}))
        .catch(fail);
      return;
    }
    if (path === '/_double' || path.startsWith('/_double/')) {
      readBody(req)
        .then((raw) => handleControl(deps.control, method, path, raw))
        .then((r) => send(res, r.status, JSON.stringify(r.body, null, 2), {}))
        .catch(fail);
      return;
    }
    const page = method === 'GET' ? placeholderPage(path, deps.apiKey) : undefined;
    if (page) {
      send(res, page.status, page.html, {}, 'text/html; charset=utf-8');
      return;
    }
    send(res, 404, JSON.stringify({ error: { type: 'invalid_request_error', message: `Unrecognized request URL (${method}: ${path}).` } }), {});
  });
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
