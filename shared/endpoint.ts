/**
 * Every endpoint is composed the same way:
 *   CORS and method check -> auth -> rate limit -> handler -> one response helper.
 * Handlers return data and throw ApiError; they never build error JSON or
 * CORS headers. The result is a web-standard `(Request, ctx) => Promise<Response>` that
 * Netlify runs as it is and the Lambda adapter wraps.
 */
import { randomUUID } from 'node:crypto';
import { config, ConfigError, required, type Config } from './config.ts';
import { corsHeaders } from './cors.ts';
import { ApiError, UnavailableError } from './errors.ts';
import { createLogger, describeError, stackFrames, type Logger } from './log.ts';
import { openLinks } from './preconnect.ts';
import { dialectOf, errorBody, etagOf, json, notModified, successBody, type Dialect } from './responses.ts';
import { checkServiceKey } from './service-key.ts';
import type { UserRoute } from './user-route.ts';

/** What we use of the platform's context (Netlify's Context has both; the Lambda adapter provides them). */
export interface RequestContext {
  requestId?: string;
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** `allow`: the methods an endpoint serves (for a 405 answered outside it, by the Lambda adapter). */
export type Handler = ((req: Request, ctx?: RequestContext) => Promise<Response>) & { allow?: string };

export interface CallBase {
  req: Request;
  url: URL;
  cfg: Config;
  log: Logger;
  requestId: string;
  dialect: Dialect;
  ctx: RequestContext;
}

type Route =
  | UserRoute<unknown>
  // Server to server: BILLING_SERVICE_KEY, no rate limit (the caller is our own service).
  | { auth: 'service'; handle: (call: CallBase) => Promise<unknown> }
  // Public. `cacheSeconds`: the answer may be cached that long, with an ETag (304 when it matches).
  | { auth: 'none'; cacheSeconds?: number; handle: (call: CallBase) => Promise<unknown> };

type Method = 'GET' | 'POST';

function isStripeError(err: unknown): err is Error & { type: string; requestId?: string; statusCode?: number } {
  const type = (err as { type?: unknown } | null)?.type;
  return err instanceof Error && typeof type === 'string' && type.startsWith('Stripe');
}

/** Maps anything thrown to a safe ApiError, logging what the caller must not see. */
function toApiError(err: unknown, log: Logger): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof UnavailableError) {
    log.error('dependency_unavailable', { dependency: err.dependency, ...describeError(err.cause) });
    return new ApiError('SERVICE_UNAVAILABLE', `${err.dependency} is temporarily unavailable, try again shortly`, {
      headers: { 'retry-after': '5' },
    });
  }
  if (err instanceof ConfigError) {
    log.error('config_error', { variable: err.variable, problem: err.message });
    return new ApiError('INTERNAL_ERROR', 'Server configuration error');
  }
  if (isStripeError(err)) {
    log.error('stripe_error', { stripeType: err.type, stripeRequestId: err.requestId, stripeStatus: err.statusCode });
    return new ApiError('INTERNAL_ERROR', 'Payment provider error');
  }
  log.error('unhandled_error', { ...describeError(err), stack: stackFrames(err) });
  return new ApiError('INTERNAL_ERROR', 'Internal server error');
}

/** The request id of a call: the platform's when it gives one. */
export const requestIdOf = (req: Request, ctx: RequestContext) => ctx.requestId || req.headers.get('x-nf-request-id') || randomUUID();

/**
 * An error answer made outside an endpoint's routes (an unknown path, a request the Lambda
 * adapter cannot turn into a Request): the path's dialect, the seed's open CORS (no
 * configuration is read for it) and a request id, like every other answer.
 */
export function errorResponse(path: string, origin: string | null, requestId: string, error: ApiError): Response {
  const headers = { ...corsHeaders(origin, undefined), ...error.options.headers, 'x-request-id': requestId };
  createLogger({ requestId }).info('request', { path, status: error.status, code: error.code });
  return json(error.status, errorBody(dialectOf(path), error.code, error.message, requestId, error.options.details), headers);
}

export function defineEndpoint(name: string, routes: Partial<Record<Method, Route>>): Handler {
  const allow = [...Object.keys(routes), 'OPTIONS'].join(', ');

  return Object.assign(async function handler(req: Request, ctx: RequestContext = {}): Promise<Response> {
    const started = performance.now();
    const url = new URL(req.url);
    const dialect = dialectOf(url.pathname);
    const requestId = requestIdOf(req, ctx);
    const log = createLogger({ function: name, requestId });
    let accountId: string | undefined;
    // The seed's open CORS until the configuration (which may narrow it) is read.
    let headers = corsHeaders(req.headers.get('origin'), undefined);

    const respond = (status: number, body: unknown): Response => {
      headers['x-request-id'] = requestId;
      log.info('request', {
        method: req.method,
        path: url.pathname,
        status,
        durationMs: Math.round(performance.now() - started),
        accountId,
      });
      return json(status, body, headers);
    };

    try {
      const cfg = config();
      // A cold instance opens its connections now, side by side (shared/preconnect.ts).
      openLinks(cfg);
      headers = corsHeaders(req.headers.get('origin'), cfg.ALLOWED_ORIGINS);
      if (req.method === 'OPTIONS') return respond(204, null);
      const route = routes[req.method as Method];
      if (!route) {
        headers['allow'] = allow;
        throw new ApiError('METHOD_NOT_ALLOWED', `Method ${req.method} not allowed`);
      }
      const base: CallBase = { req, url, cfg, log, requestId, dialect, ctx };
      let data: unknown;
      if (route.auth === 'user') {
        const principal = await route.authenticate(req, cfg);
        accountId = principal.accountId;
        const call = { ...base, principal };
        // The read runs beside the limiter when the caller has room (shared/ratelimit.ts).
        const limited = await route.limit(principal, cfg, log, async () => route.read?.(call));
        Object.assign(headers, limited.headers);
        data = await route.handle(call, limited.value);
      } else if (route.auth === 'service') {
        checkServiceKey(req, required('BILLING_SERVICE_KEY'));
        data = await route.handle(base);
      } else {
        data = await route.handle(base);
        if (route.cacheSeconds) {
          const etag = etagOf(JSON.stringify(successBody(dialect, data)));
          Object.assign(headers, { 'cache-control': `public, max-age=${route.cacheSeconds}`, etag });
          if (notModified(req.headers.get('if-none-match'), etag)) return respond(304, null);
        }
      }
      return respond(200, successBody(dialect, data));
    } catch (err) {
      const apiError = toApiError(err, log);
      Object.assign(headers, apiError.options.headers);
      return respond(apiError.status, errorBody(dialect, apiError.code, apiError.message, requestId, apiError.options.details));
    }
  }, { allow });
}
