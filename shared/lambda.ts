/**
 * The AWS Lambda adapter: runs a web-standard handler (`(Request, ctx) => Response`, see
 * endpoint.ts) behind Lambda Function URLs, API Gateway HTTP APIs (payload format 2.0) and
 * REST APIs (payload format 1.0, also selectable on HTTP APIs).
 *
 * Why our own and not a library: Hono's `hono/aws-lambda` does the same job but only as
 * part of the Hono framework, and serverless-http / @codegenie/serverless-express wrap
 * Node's req/res (Express-style), not web Requests. What we need fits in this file.
 *
 * Event and result shapes: https://docs.aws.amazon.com/apigateway/latest/developerguide/
 * http-api-develop-integrations-lambda.html (1.0 and 2.0) and set-up-lambda-proxy-
 * integrations.html (REST). Only the fields we read are declared here; the full types
 * are in @types/aws-lambda (APIGatewayProxyEventV2, APIGatewayProxyEvent, ...), which
 * these are structurally compatible with.
 */
import { errorResponse, type Handler, type RequestContext } from './endpoint.ts';
import { ApiError, badRequest } from './errors.ts';
import { createLogger, describeError } from './log.ts';

/** Payload format 2.0: HTTP APIs and Function URLs. Header names arrive lower-cased. */
export interface LambdaHttpEventV2 {
  version: '2.0';
  rawPath: string;
  rawQueryString: string;
  /** Format 2.0 moves the request's cookies out of the headers into this array. */
  cookies?: string[];
  headers: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: {
    domainName?: string;
    requestId?: string;
    /** `$default`, or a named stage, which HTTP APIs prefix to rawPath. */
    stage?: string;
    http: { method: string; path: string };
  };
}

/** Payload format 1.0: REST APIs (no `version`) and HTTP APIs set to 1.0 (`version: '1.0'`). */
export interface LambdaHttpEventV1 {
  version?: '1.0';
  httpMethod: string;
  path: string;
  headers: Record<string, string | undefined> | null;
  /** Every value of every header; `headers` keeps only the last one. */
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  body: string | null;
  isBase64Encoded: boolean;
  requestContext?: { domainName?: string; requestId?: string; stage?: string };
}

export type LambdaHttpEvent = LambdaHttpEventV1 | LambdaHttpEventV2;

/** What we use of Lambda's context object (the second argument of every invocation). */
export interface LambdaContext {
  awsRequestId: string;
  functionName?: string;
  getRemainingTimeInMillis?: () => number;
}

/** What scheduled jobs read of an EventBridge "Scheduled Event"; the rest is ignored. */
export interface ScheduledEvent {
  'detail-type'?: string;
  /** When the schedule fired (ISO 8601). */
  time?: string;
}

export interface LambdaHttpResultV2 {
  statusCode: number;
  headers: Record<string, string>;
  /** Each becomes one Set-Cookie header; 2.0 results may not carry Set-Cookie in `headers`. */
  cookies?: string[];
  body: string;
  isBase64Encoded: boolean;
}

export interface LambdaHttpResultV1 {
  statusCode: number;
  headers: Record<string, string>;
  /** Set-Cookie, one entry per cookie (a single-valued header can hold only one). */
  multiValueHeaders?: Record<string, string[]>;
  body: string;
  isBase64Encoded: boolean;
}

export type LambdaHttpResult = LambdaHttpResultV1 | LambdaHttpResultV2;

export type LambdaHttpHandler = {
  (event: LambdaHttpEventV2, context?: LambdaContext): Promise<LambdaHttpResultV2>;
  (event: LambdaHttpEventV1, context?: LambdaContext): Promise<LambdaHttpResultV1>;
  (event: LambdaHttpEvent, context?: LambdaContext): Promise<LambdaHttpResult>;
};

const isV2 = (event: LambdaHttpEvent): event is LambdaHttpEventV2 => event.version === '2.0';

/** Sets a header, dropping one whose value a Headers object refuses (a bad header must not crash the function). */
function add(headers: Headers, name: string, value: string): void {
  try {
    headers.append(name, value);
  } catch {
    // invalid name or value: leave it out
  }
}

function requestHeaders(event: LambdaHttpEvent): Headers {
  const headers = new Headers();
  const cookies: string[] = [];
  const take = (name: string, value: string) => {
    // Several cookie headers join with "; " (the cookie syntax), not with ", " as append would.
    if (name.toLowerCase() === 'cookie') cookies.push(value);
    else add(headers, name, value);
  };
  if (isV2(event)) {
    for (const [name, value] of Object.entries(event.headers ?? {})) if (value !== undefined) take(name, value);
    cookies.push(...(event.cookies ?? []));
  } else {
    const multi = event.multiValueHeaders ?? {};
    const multiNames = new Set(Object.keys(multi).map((n) => n.toLowerCase()));
    for (const [name, values] of Object.entries(multi)) for (const v of values ?? []) take(name, v);
    // `headers` repeats the last value of each multi-value header: use it only for the rest.
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (value !== undefined && !multiNames.has(name.toLowerCase())) take(name, value);
    }
  }
  if (cookies.length) add(headers, 'cookie', cookies.join('; '));
  return headers;
}

function pathAndQuery(event: LambdaHttpEvent): string {
  if (isV2(event)) {
    // An HTTP API on a named stage puts the stage in front of the path (`/prod/api/...`);
    // our routes (and the response dialect) are decided on the path without it.
    const stage = event.requestContext.stage;
    let path = event.rawPath || '/';
    if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) path = path.slice(stage.length + 1);
    return event.rawQueryString ? `${path}?${event.rawQueryString}` : path;
  }
  // 1.0 gives the query already decoded, so it is re-encoded here; the multi-value form
  // has every value of a repeated parameter, the single-value form only the last.
  const query = new URLSearchParams();
  if (event.multiValueQueryStringParameters) {
    for (const [k, values] of Object.entries(event.multiValueQueryStringParameters)) for (const v of values ?? []) query.append(k, v);
  } else {
    for (const [k, v] of Object.entries(event.queryStringParameters ?? {})) if (v !== undefined) query.append(k, v);
  }
  const qs = query.toString();
  return qs ? `${event.path}?${qs}` : event.path;
}

/** An HTTP method token (RFC 9110) that a web Request can carry: fetch forbids CONNECT, TRACE and TRACK. */
const usableMethod = (m: string) => /^[!#$%&'*+.^_`|~0-9A-Z-]+$/.test(m) && !['CONNECT', 'TRACE', 'TRACK'].includes(m);

/**
 * The web Request for a Lambda HTTP event. Base64 bodies are decoded to their exact bytes.
 * What no Request can carry is an ApiError: a method fetch forbids (405, with the
 * endpoint's `Allow`), or a host that is not one (400).
 */
export function toRequest(event: LambdaHttpEvent, allow = 'GET, POST, OPTIONS'): Request {
  const headers = requestHeaders(event);
  const method = String((isV2(event) ? event.requestContext?.http?.method : event.httpMethod) ?? '').toUpperCase();
  if (!usableMethod(method)) throw new ApiError('METHOD_NOT_ALLOWED', 'Method not allowed', { headers: { allow } });
  const host = event.requestContext?.domainName || headers.get('host') || 'localhost';
  const proto = headers.get('x-forwarded-proto') === 'http' ? 'http' : 'https';
  const base = URL.parse(`${proto}://${host}`);
  // A host with a path, userinfo or port junk in it would silently change the URL.
  if (!base || base.host.toLowerCase() !== host.toLowerCase()) throw badRequest('Invalid Host header');
  const url = new URL(pathAndQuery(event), base);
  const raw = event.body;
  const body =
    raw === undefined || raw === null || raw === '' || method === 'GET' || method === 'HEAD'
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(raw, 'base64')
        : raw;
  return new Request(url, { method, headers, body });
}

/**
 * Content types API Gateway can carry as a text body. Anything else (images, PDFs,
 * octet-stream, no type at all) and anything compressed goes back base64-encoded.
 */
const TEXT_TYPE = /^(text\/[^;]+|application\/([\w.+-]+\+)?(json|xml|javascript|x-www-form-urlencoded|graphql)|image\/svg\+xml)\s*(;|$)/i;

export function isTextResponse(headers: Headers): boolean {
  const encoding = headers.get('content-encoding');
  if (encoding && encoding.toLowerCase() !== 'identity') return false;
  return TEXT_TYPE.test(headers.get('content-type') ?? '');
}

/** The Lambda result for a Response, in the payload format of the event. */
export async function toResult(response: Response, format: '1.0'): Promise<LambdaHttpResultV1>;
export async function toResult(response: Response, format: '2.0'): Promise<LambdaHttpResultV2>;
export async function toResult(response: Response, format: '1.0' | '2.0'): Promise<LambdaHttpResult>;
export async function toResult(response: Response, format: '1.0' | '2.0'): Promise<LambdaHttpResult> {
  const bytes = Buffer.from(await response.arrayBuffer());
  const text = bytes.length === 0 || isTextResponse(response.headers);
  const headers: Record<string, string> = {};
  // Iterating Headers yields each Set-Cookie on its own; getSetCookie() has them all.
  for (const [name, value] of response.headers) if (name !== 'set-cookie') headers[name] = value;
  const cookies = response.headers.getSetCookie();
  const base = {
    statusCode: response.status,
    headers,
    body: text ? bytes.toString('utf8') : bytes.toString('base64'),
    isBase64Encoded: !text,
  };
  if (format === '2.0') return cookies.length ? { ...base, cookies } : base;
  return cookies.length ? { ...base, multiValueHeaders: { 'set-cookie': cookies } } : base;
}

/**
 * Work handed to `ctx.waitUntil` runs after the response is ready but before the
 * invocation ends: Lambda freezes the process once the handler returns, so a promise left
 * running would stall until (and leak into) some later invocation.
 */
function backgroundWork(requestId: string) {
  const pending: Array<Promise<unknown>> = [];
  return {
    waitUntil(promise: Promise<unknown>) {
      pending.push(promise);
    },
    async drain() {
      // A promise may itself call waitUntil: keep going until nothing new was added.
      for (let done = 0; done < pending.length; ) {
        const batch = pending.slice(done);
        done = pending.length;
        for (const r of await Promise.allSettled(batch)) {
          if (r.status === 'rejected') createLogger({ requestId }).warn('wait_until_failed', describeError(r.reason));
        }
      }
    },
  };
}

/** Wraps a web handler as a Lambda handler for HTTP events of either payload format. */
export function toLambda(handler: Handler): LambdaHttpHandler {
  async function lambdaHandler(event: LambdaHttpEvent, context?: LambdaContext): Promise<LambdaHttpResult> {
    const requestId = event.requestContext?.requestId || context?.awsRequestId || crypto.randomUUID();
    const work = backgroundWork(requestId);
    const ctx: RequestContext = { requestId, waitUntil: work.waitUntil };
    try {
      let request: Request | ApiError;
      try {
        request = toRequest(event, handler.allow);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        request = err;
      }
      const response =
        request instanceof ApiError
          ? errorResponse((isV2(event) ? event.rawPath : event.path) || '/', requestHeaders(event).get('origin'), requestId, request)
          : await handler(request, ctx);
      return await toResult(response, isV2(event) ? '2.0' : '1.0');
    } finally {
      await work.drain();
    }
  }
  return lambdaHandler as LambdaHttpHandler;
}
