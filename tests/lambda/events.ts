/**
 * Lambda HTTP events as AWS delivers them, for one described request, in the three shapes
 * the adapter takes. Field for field after the examples in AWS's documentation
 * ("Create AWS Lambda proxy integrations for HTTP APIs", payload format 2.0 and 1.0;
 * "Lambda function URLs: request payload"; "Lambda proxy integrations in API Gateway",
 * REST input format), including how each folds repeated headers, query parameters and
 * cookies, so the tests exercise the adapter on what it will really receive.
 */
import { randomUUID } from 'node:crypto';
import type {
  LambdaContext,
  LambdaHttpEventV1,
  LambdaHttpEventV2,
  LambdaHttpHandler,
  LambdaHttpResult,
} from '../../shared/lambda.ts';

export type Kind = 'function-url' | 'http-api' | 'rest-api';
export const KINDS: Kind[] = ['function-url', 'http-api', 'rest-api'];

export interface Described {
  method: string;
  path: string;
  /** In order; repeated names allowed. Values unencoded. */
  query?: Array<[string, string]>;
  /** In order; repeated names allowed (a client sending the same header twice). */
  headers?: Array<[string, string]>;
  /** Request cookies, as `name=value` (each would be its own pair in the Cookie header). */
  cookies?: string[];
  body?: string | Buffer;
  /** How API Gateway / Lambda hands over the body (binary or non-text content types). */
  base64?: boolean;
  requestId?: string;
  /** HTTP API stage (default `$default`); REST API stage (default `Prod`). */
  stage?: string;
}

const ACCOUNT = '123456789012';
const now = () => new Date();
const clf = (d: Date) =>
  `${String(d.getUTCDate()).padStart(2, '0')}/${d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })}/${d.getUTCFullYear()}:` +
  `${d.toISOString().slice(11, 19)} +0000`;

/** The Content-Length a client sends with the body (API Gateway passes it through). */
const lengthOf = (d: Described): Array<[string, string]> =>
  d.body === undefined ? [] : [['Content-Length', String(typeof d.body === 'string' ? Buffer.byteLength(d.body) : d.body.length)]];

function bodyOf(d: Described): { body: string | undefined; isBase64Encoded: boolean } {
  if (d.body === undefined) return { body: undefined, isBase64Encoded: false };
  const bytes = typeof d.body === 'string' ? Buffer.from(d.body, 'utf8') : d.body;
  return d.base64 ? { body: bytes.toString('base64'), isBase64Encoded: true } : { body: bytes.toString('utf8'), isBase64Encoded: false };
}

const rawQuery = (q: Array<[string, string]> = []) => new URLSearchParams(q).toString();

/** 2.0 (HTTP API and Function URL): lower-cased names, repeats joined with commas, cookies in their own array. */
function v2(d: Described, kind: 'function-url' | 'http-api'): LambdaHttpEventV2 & Record<string, unknown> {
  const domainPrefix = kind === 'function-url' ? 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6' : 'r3pmxmplak';
  const domainName = kind === 'function-url' ? `${domainPrefix}.lambda-url.us-east-2.on.aws` : `${domainPrefix}.execute-api.us-east-2.amazonaws.com`;
  const given: Record<string, string> = {};
  for (const [k, v] of [...(d.headers ?? []), ...lengthOf(d)]) {
    const name = k.toLowerCase();
    given[name] = name in given ? `${given[name]},${v}` : v;
  }
  const headers: Record<string, string> = {
    accept: '*/*',
    host: domainName,
    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
    'x-amzn-trace-id': 'Root=1-5e6722a7-cc56xmpl46db7ae02d4da47e',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...given,
  };
  const queryStringParameters: Record<string, string> = {};
  for (const [k, v] of d.query ?? []) queryStringParameters[k] = k in queryStringParameters ? `${queryStringParameters[k]},${v}` : v;
  const stage = d.stage ?? '$default';
  const rawPath = stage === '$default' || kind === 'function-url' ? d.path : `/${stage}${d.path}`;
  const t = now();
  const b = bodyOf(d);
  return {
    version: '2.0',
    routeKey: kind === 'function-url' ? '$default' : `ANY ${d.path}`,
    rawPath,
    rawQueryString: rawQuery(d.query),
    ...(d.cookies?.length ? { cookies: d.cookies } : {}),
    headers,
    ...(d.query?.length ? { queryStringParameters } : {}),
    requestContext: {
      accountId: kind === 'function-url' ? 'anonymous' : ACCOUNT,
      apiId: domainPrefix,
      domainName,
      domainPrefix,
      http: { method: d.method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: headers['user-agent']! },
      requestId: d.requestId ?? randomUUID(),
      routeKey: kind === 'function-url' ? '$default' : `ANY ${d.path}`,
      stage: kind === 'function-url' ? '$default' : stage,
      time: clf(t),
      timeEpoch: t.getTime(),
    } as LambdaHttpEventV2['requestContext'],
    ...(b.body !== undefined ? { body: b.body } : {}), // 2.0 leaves `body` out when there is none
    isBase64Encoded: b.isBase64Encoded,
  };
}

/** 1.0 (REST API): names as sent, `headers` keeps the last value, `multiValueHeaders` all; query decoded. */
function v1(d: Described): LambdaHttpEventV1 & Record<string, unknown> {
  const domainName = 'gy415nuibc.execute-api.us-east-2.amazonaws.com';
  const pairs: Array<[string, string]> = [
    ['Accept', '*/*'],
    ['Host', domainName],
    ['User-Agent', 'Stripe/1.0 (+https://stripe.com/docs/webhooks)'],
    ['X-Amzn-Trace-Id', 'Root=1-5e66d96f-7491f09xmpl79d18acf3d050'],
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Forwarded-Port', '443'],
    ['X-Forwarded-Proto', 'https'],
    ...(d.headers ?? []),
    ...lengthOf(d),
    // REST APIs pass the Cookie header through like any other.
    ...(d.cookies?.length ? ([['Cookie', d.cookies.join('; ')]] as Array<[string, string]>) : []),
  ];
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [k, v] of pairs) {
    headers[k] = v;
    (multiValueHeaders[k] ??= []).push(v);
  }
  const queryStringParameters: Record<string, string> = {};
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [k, v] of d.query ?? []) {
    queryStringParameters[k] = v;
    (multiValueQueryStringParameters[k] ??= []).push(v);
  }
  const stage = d.stage ?? 'Prod';
  const t = now();
  const b = bodyOf(d);
  return {
    resource: d.path,
    path: d.path,
    httpMethod: d.method,
    headers,
    multiValueHeaders,
    queryStringParameters: d.query?.length ? queryStringParameters : null,
    multiValueQueryStringParameters: d.query?.length ? multiValueQueryStringParameters : null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      accountId: ACCOUNT,
      apiId: 'gy415nuibc',
      domainName,
      domainPrefix: 'gy415nuibc',
      extendedRequestId: 'JJbxmHc6PHcEkGw=',
      httpMethod: d.method,
      identity: { sourceIp: '203.0.113.7', userAgent: headers['User-Agent'] },
      path: `/${stage}${d.path}`,
      protocol: 'HTTP/1.1',
      requestId: d.requestId ?? randomUUID(),
      requestTime: clf(t),
      requestTimeEpoch: t.getTime(),
      resourceId: '2gxmpl',
      resourcePath: d.path,
      stage,
    } as LambdaHttpEventV1['requestContext'],
    body: b.body ?? null,
    isBase64Encoded: b.isBase64Encoded,
  };
}

export function eventFor(kind: Kind, d: Described): LambdaHttpEventV1 | LambdaHttpEventV2 {
  return kind === 'rest-api' ? v1(d) : v2(d, kind);
}

export const lambdaContext = (awsRequestId: string = randomUUID()): LambdaContext => ({
  awsRequestId,
  functionName: 'billing-test',
  getRemainingTimeInMillis: () => 29_000,
});

export interface Invoked {
  raw: LambdaHttpResult;
  status: number;
  /** Response headers, lower-cased; Set-Cookie values are in `setCookies`. */
  headers: Record<string, string>;
  setCookies: string[];
  bytes: Buffer;
  text: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON from the wire, asserted by tests
}

/** Reads a result the way API Gateway / Function URLs turn it into an HTTP response. */
export function readResult(raw: LambdaHttpResult): Invoked {
  const bytes = raw.isBase64Encoded ? Buffer.from(raw.body, 'base64') : Buffer.from(raw.body, 'utf8');
  const text = bytes.toString('utf8');
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  const setCookies = 'cookies' in raw ? (raw.cookies ?? []) : 'multiValueHeaders' in raw ? (raw.multiValueHeaders?.['set-cookie'] ?? []) : [];
  return { raw, status: raw.statusCode, headers: raw.headers, setCookies, bytes, text, body };
}

export async function invoke(handler: LambdaHttpHandler, kind: Kind, d: Described, context = lambdaContext()): Promise<Invoked> {
  return readResult(await handler(eventFor(kind, d), context));
}
