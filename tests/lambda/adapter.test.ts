/**
 * The adapter's own contract, through a probe handler that reports what it was given
 * (none of our endpoints reads query strings or cookies, sets cookies or answers binary),
 * for each of the three event kinds.
 */
import { describe, expect, it } from 'vitest';
import subscription from '../../functions/subscription.ts';
import type { Handler, RequestContext } from '../../shared/endpoint.ts';
import { toLambda } from '../../shared/lambda.ts';
import { eventFor, invoke, KINDS, lambdaContext, readResult } from './events.ts';

/** Echoes the request as JSON: method, path, query (all values), headers, body bytes as base64. */
const echo: Handler = async (req, ctx) => {
  const url = new URL(req.url);
  const query: Record<string, string[]> = {};
  for (const k of new Set(url.searchParams.keys())) query[k] = url.searchParams.getAll(k);
  const body = Buffer.from(await req.arrayBuffer());
  return Response.json({
    method: req.method,
    url: req.url,
    path: url.pathname,
    query,
    headers: Object.fromEntries(req.headers),
    body64: body.toString('base64'),
    requestId: ctx?.requestId,
  });
};

describe.each(KINDS)('adapter, %s events', (kind) => {
  const handler = toLambda(echo);

  it('rebuilds method, path, host and every value of repeated query parameters', async () => {
    const res = await invoke(handler, kind, {
      method: 'GET',
      path: '/api/billing/subscription',
      query: [['tag', 'a b'], ['tag', 'c&d'], ['page', '2']],
    });
    expect(res.status).toBe(200);
    expect(res.body.method).toBe('GET');
    expect(res.body.path).toBe('/api/billing/subscription');
    expect(res.body.url).toMatch(/^https:\/\/[a-z0-9]+\.(lambda-url|execute-api)\.us-east-2\.(on\.aws|amazonaws\.com)\//);
    expect(res.body.query).toEqual({ tag: ['a b', 'c&d'], page: ['2'] });
  });

  it('keeps every value of a repeated header, and merges cookies into one Cookie header', async () => {
    const res = await invoke(handler, kind, {
      method: 'GET',
      path: '/api/stripe/subscription',
      headers: [['X-Forwarded-Client', 'one'], ['x-forwarded-client', 'two'], ['Authorization', 'Bearer abc']],
      cookies: ['session=s1', 'theme=dark'],
    });
    expect(res.body.headers['x-forwarded-client'].split(/,\s*/)).toEqual(['one', 'two']);
    expect(res.body.headers.authorization).toBe('Bearer abc');
    expect(res.body.headers.cookie).toBe('session=s1; theme=dark');
  });

  it('decodes a base64 body to its exact bytes, and passes a text body as UTF-8', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x7f, 0xc3, 0x28, 0x0a]); // not valid UTF-8 on purpose
    const bin = await invoke(handler, kind, { method: 'POST', path: '/p', body: bytes, base64: true, headers: [['content-type', 'application/octet-stream']] });
    expect(Buffer.from(bin.body.body64, 'base64').equals(bytes)).toBe(true);
    const text = 'Zoë paid 12 € — 東京 ✓';
    const plain = await invoke(handler, kind, { method: 'POST', path: '/p', body: text, headers: [['content-type', 'text/plain; charset=utf-8']] });
    expect(Buffer.from(plain.body.body64, 'base64').toString('utf8')).toBe(text);
  });

  it('passes the event request id as ctx.requestId, else the Lambda context awsRequestId', async () => {
    const fromEvent = await invoke(handler, kind, { method: 'GET', path: '/p', requestId: 'apigw-req-1' }, lambdaContext('aws-req-1'));
    expect(fromEvent.body.requestId).toBe('apigw-req-1');
    // A console test invocation or a hand-made event may have no requestContext.requestId.
    const event = eventFor(kind, { method: 'GET', path: '/p' });
    delete (event.requestContext as { requestId?: string }).requestId;
    const fromContext = readResult(await handler(event, lambdaContext('aws-req-2')));
    expect(fromContext.body.requestId).toBe('aws-req-2');
  });

  it('returns Set-Cookie as cookies (2.0) or multiValueHeaders (1.0), each cookie intact', async () => {
    const setter = toLambda(async () => {
      const headers = new Headers({ 'content-type': 'application/json' });
      headers.append('set-cookie', 'a=1; Path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
      headers.append('set-cookie', 'b=2; Path=/; Secure');
      return new Response('{}', { headers });
    });
    const res = await invoke(setter, kind, { method: 'GET', path: '/p' });
    expect(res.setCookies).toEqual(['a=1; Path=/; HttpOnly; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'b=2; Path=/; Secure']);
    expect(res.headers['set-cookie']).toBeUndefined();
    if (kind === 'rest-api') expect(res.raw).not.toHaveProperty('cookies');
    else expect(res.raw).not.toHaveProperty('multiValueHeaders');
  });

  it('base64-encodes binary and untyped bodies, and leaves text and JSON as text', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');
    const cases: Array<[string | null, Buffer, boolean]> = [
      ['image/png', png, true],
      ['application/pdf', png, true],
      [null, png, true],
      ['application/json; charset=utf-8', Buffer.from('{"ok":"✓"}'), false],
      ['application/problem+json', Buffer.from('{"a":1}'), false],
      ['text/csv', Buffer.from('a,b\n1,2\n'), false],
    ];
    for (const [type, bytes, binary] of cases) {
      const h = toLambda(async () => new Response(new Uint8Array(bytes), { headers: type ? { 'content-type': type } : {} }));
      const res = await invoke(h, kind, { method: 'GET', path: '/p' });
      expect(res.raw.isBase64Encoded, String(type)).toBe(binary);
      expect(res.bytes.equals(bytes), String(type)).toBe(true);
    }
    const gz = toLambda(async () => new Response(new Uint8Array(png), { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }));
    expect((await invoke(gz, kind, { method: 'GET', path: '/p' })).raw.isBase64Encoded).toBe(true);
  });

  it('awaits waitUntil work (even work it adds itself) before the invocation returns; a failure there does not fail it', async () => {
    const done: string[] = [];
    const later = (ms: number, what: string) => new Promise<void>((r) => setTimeout(() => { done.push(what); r(); }, ms));
    const h = toLambda(async (_req, ctx?: RequestContext) => {
      ctx?.waitUntil?.(later(30, 'first').then(() => ctx.waitUntil?.(later(30, 'nested'))));
      ctx?.waitUntil?.(Promise.reject(new Error('background failure')));
      return new Response(null, { status: 202 });
    });
    const res = await invoke(h, kind, { method: 'POST', path: '/p' });
    expect(res.status).toBe(202);
    expect(done).toEqual(['first', 'nested']);
  });
});

describe('adapter, paths', () => {
  it('drops a named HTTP API stage from the path, so routes and the response dialect still match', async () => {
    const res = await invoke(toLambda(echo), 'http-api', { method: 'GET', path: '/api/billing/subscription', stage: 'prod' });
    expect(res.body.path).toBe('/api/billing/subscription');
  });

  it('a REST API path excludes the stage already; it is used as given', async () => {
    const res = await invoke(toLambda(echo), 'rest-api', { method: 'GET', path: '/api/stripe/portal', stage: 'v1' });
    expect(res.body.path).toBe('/api/stripe/portal');
  });
});

describe.each(KINDS)('adapter, requests no web Request can carry, %s events', (kind) => {
  const handler = toLambda(subscription);

  it('answers TRACE, CONNECT and TRACK with 405 and the endpoint\'s Allow, in the path\'s dialect', async () => {
    for (const method of ['TRACE', 'CONNECT', 'TRACK', 'trace', 'GE T', '']) {
      const flat = await invoke(handler, kind, { method, path: '/api/stripe/subscription' });
      expect(flat.status, method).toBe(405);
      expect(flat.headers['allow']).toBe('GET, POST, OPTIONS');
      expect(flat.headers['access-control-allow-origin']).toBe('*');
      expect(flat.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED', requestId: flat.headers['x-request-id'] });
      const envelope = await invoke(handler, kind, { method, path: '/api/billing/subscription' });
      expect(envelope.body).toMatchObject({ success: false, data: null, error: { code: 'METHOD_NOT_ALLOWED' } });
    }
  });

  it('answers a Host that is not one with 400 in our format', async () => {
    const event = eventFor(kind, { method: 'GET', path: '/api/stripe/subscription', headers: [['Host', 'evil.example/x?']] });
    if (event.requestContext) delete event.requestContext.domainName;
    const res = readResult(await handler(event, lambdaContext()));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'BAD_REQUEST', error: 'Invalid Host header' });
  });

  it('with no host at all, still answers (as localhost) in our format', async () => {
    const event = eventFor(kind, { method: 'GET', path: '/api/stripe/subscription' });
    if (event.requestContext) delete event.requestContext.domainName;
    for (const headers of [event.headers ?? {}, ...('multiValueHeaders' in event && event.multiValueHeaders ? [event.multiValueHeaders] : [])]) {
      for (const name of Object.keys(headers)) if (name.toLowerCase() === 'host') delete headers[name];
    }
    const res = readResult(await handler(event, lambdaContext()));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHORIZED' });
  });
});
