/**
 * Bad input, thrown at every endpoint in both dialects by fast-check: random methods,
 * headers, tokens, JSON, deep nesting, huge numbers, odd Unicode and oversized bodies.
 * Never a 500, never a stack or a secret in a body, always the dialect's shape.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../../functions/checkout.ts';
import portal from '../../functions/portal.ts';
import subscription from '../../functions/subscription.ts';
import usage from '../../functions/usage.ts';
import webhook from '../../functions/webhook.ts';
import type { Handler } from '../../shared/endpoint.ts';
import { call, TEST_JWT_SECRET, tokenFor, type Call, type Stack } from '../helpers/stack.ts';
import { startStripeStack, WEBHOOK_SECRET, type StripeSide } from '../helpers/stripe.ts';

const SERVICE_KEY = 'svc_fuzz_service_key_0123456789abcdef';
const DB_PASSWORD = 'postgres'; // the embedded cluster's; must never show in a body
let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
let validToken: string;

beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
  stack.setEnv({ BILLING_SERVICE_KEY: SERVICE_KEY, STRIPE_METER_EVENT_NAME: 'tracked_events', STRIPE_METER_ID: 'mtr_double_events' });
  validToken = await tokenFor({ sub: 'fuzz_user', email: 'fuzz@example.com' });
});
afterAll(() => stop());

const endpoints: Array<[string, Handler]> = [
  ['checkout', checkout], ['portal', portal], ['subscription', subscription], ['usage', usage], ['webhook', webhook],
];

const oddString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 64 }),
  fc.string({ unit: 'grapheme', maxLength: 32 }),
  fc.constantFrom('\u0000', '\uFEFF', '\uD800', '𝕏'.repeat(10), '../../etc/passwd', '<script>alert(1)</script>', "' or 1=1 --", '%00', '${jndi:x}'),
);
const hugeNumber = fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 64, -0, 1e-320, 123456789012345678901234567890);
const deep = fc.integer({ min: 50, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n));
const jsonBody = fc.oneof(
  fc.json({ maxDepth: 6 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.record({ priceId: oddString, successUrl: oddString, cancelUrl: oddString, returnUrl: oddString }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.record({ accountId: oddString, quantity: fc.oneof(hugeNumber, fc.integer(), oddString), idempotencyKey: oddString, timestamp: fc.oneof(hugeNumber, oddString) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
  fc.array(fc.record({ accountId: fc.constant('user:x'), quantity: hugeNumber, idempotencyKey: oddString }), { maxLength: 5 }).map((records) => JSON.stringify({ records })),
  deep,
  oddString,
  fc.constant('{"a":' + '1'.repeat(400) + '}'),
  fc.constant(''),
);
const bigBody = fc.constantFrom(70 * 1024, 1100 * 1024).map((n) => `{"pad":"${'x'.repeat(n)}"}`);

const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant('valid'),
  fc.constant('service'),
  oddString.map((x) => `Bearer ${x}`),
  fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'bearer a.b.c', `Bearer ${'a'.repeat(9000)}.b.c`),
  fc.record({ sub: oddString, org_id: fc.option(oddString), org_role: fc.option(oddString) }).map((claims) => ({ claims })),
);

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  dialect: fc.constantFrom('stripe', 'billing'),
  auth: authorization,
  body: fc.oneof({ weight: 6, arbitrary: jsonBody }, { weight: 1, arbitrary: bigBody }, { weight: 1, arbitrary: fc.constant(undefined) }),
  contentType: fc.constantFrom(undefined, 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'),
  query: fc.constantFrom('', '?source=stripe', '?source=%00', '?a=1&a=2', `?x=${'y'.repeat(3000)}`),
  signature: fc.oneof(fc.constant(undefined), oddString, fc.constant('t=1,v1=abc'), fc.constant('t=99999999999,v1=' + '0'.repeat(64))),
  origin: fc.constantFrom(undefined, 'https://evil.example', 'null'),
});

type Req = typeof request extends fc.Arbitrary<infer T> ? T : never;

async function send(handler: Handler, name: string, r: Req): Promise<Call> {
  const headers: Record<string, string> = {};
  if (r.auth === 'valid') headers.authorization = `Bearer ${validToken}`;
  else if (r.auth === 'service') headers.authorization = `Bearer ${SERVICE_KEY}`;
  else if (typeof r.auth === 'string') headers.authorization = r.auth.replace(/[\r\n\u0000]/g, '');
  else if (r.auth && typeof r.auth === 'object') {
    const { claims } = r.auth;
    headers.authorization = `Bearer ${await tokenFor({ sub: claims.sub.slice(0, 200) || 'x', org: claims.org_id ?? undefined, role: claims.org_role ?? undefined })}`;
  }
  if (r.contentType) headers['content-type'] = r.contentType;
  if (r.signature) headers['stripe-signature'] = r.signature.replace(/[\r\n\u0000]/g, '');
  if (r.origin) headers.origin = r.origin;
  for (const [k, v] of Object.entries(headers)) {
    // Headers the platform could never deliver (invalid bytes) are not a test of ours.
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(v)) delete headers[k];
  }
  const body = r.method === 'GET' ? undefined : r.body;
  return call(handler, r.method, `/api/${r.dialect}/${name}${r.query}`, { headers, ...(body !== undefined ? { body } : {}) });
}

function expectSafe(res: Call, dialect: string, context: string) {
  expect(res.status, context).toBeLessThan(500);
  expect(res.headers.get('x-request-id'), context).toBeTruthy();
  expect(res.headers.get('access-control-allow-origin'), context).toBe('*');
  for (const secret of [TEST_JWT_SECRET, SERVICE_KEY, WEBHOOK_SECRET, 'sk_test_suite', `:${DB_PASSWORD}@`]) {
    expect(res.text.includes(secret), `${context}: leaks a secret`).toBe(false);
  }
  expect(res.text, context).not.toMatch(/\bat [^\s]+ \(|\.ts:\d+|node_modules|Error: /);
  if (res.status === 204) {
    expect(res.text, context).toBe('');
    return;
  }
  if (dialect === 'billing') {
    expect(typeof res.body?.success, context).toBe('boolean');
    if (res.body.success) expect(res.body.error, context).toBeNull();
    else {
      expect(res.body.data, context).toBeNull();
      expect(typeof res.body.error.code, context).toBe('string');
      expect(typeof res.body.error.message, context).toBe('string');
      expect(res.body.error.requestId, context).toBe(res.headers.get('x-request-id'));
    }
  } else if (res.status >= 400) {
    expect(typeof res.body?.error, context).toBe('string');
    expect(typeof res.body.code, context).toBe('string');
  }
}

describe('bad input never breaks an endpoint', () => {
  for (const [name, handler] of endpoints) {
    it(`${name}: random requests in both dialects`, async () => {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const res = await send(handler, name, r);
          expectSafe(res, r.dialect, `${name} ${JSON.stringify({ ...r, body: typeof r.body === 'string' ? r.body.slice(0, 200) : r.body })} -> ${res.status} ${res.text.slice(0, 300)}`);
        }),
        { numRuns: 120, seed: Number(process.env.FUZZ_SEED ?? 20261121) },
      );
    }, 120_000);
  }

  it('a body far over the limit is refused without reading it all', async () => {
    let pulled = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.byteLength;
        if (pulled > 50 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const req = new Request('http://localhost/api/stripe/checkout', {
      method: 'POST', body: stream, headers: { authorization: `Bearer ${validToken}`, 'content-type': 'application/json' }, duplex: 'half',
    } as RequestInit);
    const res = await checkout(req, {});
    expect(res.status).toBe(413);
    expect(pulled).toBeLessThan(1024 * 1024);
  });
});
