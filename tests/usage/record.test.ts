/** POST usage: service-key auth, idempotent recording, all-or-nothing batch validation, time bounds. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import usage from '../../functions/usage.ts';
import { call, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { DAY, nowS, postUsage, SERVICE_KEY, startUsageStack, type StripeSide } from './helpers.ts';

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  ({ stack, s } = await startUsageStack());
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

const rec = (accountId: string, over: Record<string, unknown> = {}) => ({ accountId, quantity: 1, idempotencyKey: uid('k'), ...over });

async function rowsOf(accountId: string): Promise<Array<{ idempotency_key: string; quantity: string; occurred_at: Date }>> {
  return stack.sql`select idempotency_key, quantity::text, occurred_at from billing_usage_records where account_id = ${accountId} order by occurred_at, idempotency_key`;
}

describe('POST usage: authentication', () => {
  it('takes the service key (Bearer or X-Service-Key) and refuses everything else with 401', async () => {
    const account = `user:${uid('u')}`;
    expect((await postUsage(rec(account))).status).toBe(200);
    expect((await postUsage(rec(account), { key: '', headers: { authorization: '', 'x-service-key': SERVICE_KEY } })).status).toBe(200);

    const none = await call(usage, 'POST', '/api/stripe/usage', { body: rec(account) });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('UNAUTHORIZED');
    const wrong = await postUsage(rec(account), { key: `${SERVICE_KEY}x` });
    expect(wrong.status).toBe(401);
    // A user's valid JWT is not a service key.
    const user = await call(usage, 'POST', '/api/stripe/usage', { body: rec(account), token: await tokenFor({ sub: 'u1' }) });
    expect(user.status).toBe(401);
    expect(user.headers.get('www-authenticate')).toBe('Bearer');
    expect(await rowsOf(account)).toHaveLength(2);
  });

  it('is a server configuration error (500, no detail) when BILLING_SERVICE_KEY is not set', async () => {
    stack.setEnv({ BILLING_SERVICE_KEY: undefined });
    try {
      const res = await postUsage(rec(`user:${uid('u')}`));
      expect(res.status).toBe(500);
      expect(res.body).toMatchObject({ code: 'INTERNAL_ERROR', error: 'Server configuration error' });
    } finally {
      stack.setEnv({ BILLING_SERVICE_KEY: SERVICE_KEY });
    }
  });

  it('is not rate limited like user calls', async () => {
    stack.setEnv({ RATE_LIMIT_USER: '2/1m', RATE_LIMIT_ORG: '2/1h' });
    try {
      const account = `org:${uid('org')}`;
      for (let i = 0; i < 5; i++) expect((await postUsage(rec(account))).status).toBe(200);
    } finally {
      stack.setEnv({ RATE_LIMIT_USER: undefined, RATE_LIMIT_ORG: undefined });
    }
  });
});

describe('POST usage: recording once', () => {
  it('records one record, and a repeat of its key is a no-op reported as a duplicate', async () => {
    const account = `user:${uid('u')}`;
    const body = rec(account, { quantity: 5, idempotencyKey: 'pageviews-1' });
    const first = await postUsage(body);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ accepted: 1, duplicates: [], refused: [] });
    const again = await postUsage({ ...body, quantity: 9 });
    expect(again.body).toEqual({ accepted: 0, duplicates: [{ index: 0, idempotencyKey: 'pageviews-1' }], refused: [] });
    expect((await rowsOf(account)).map((r) => r.quantity)).toEqual(['5']);
  });

  it('in a batch, accepts new keys and names the duplicates (seen before, or twice in the batch)', async () => {
    const account = `org:${uid('org')}`;
    await postUsage(rec(account, { idempotencyKey: 'a' }));
    const res = await postUsage({
      records: [
        rec(account, { idempotencyKey: 'a' }),
        rec(account, { idempotencyKey: 'b', quantity: 2 }),
        rec(account, { idempotencyKey: 'b', quantity: 3 }),
        rec(account, { idempotencyKey: 'c', quantity: 4 }),
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ accepted: 2, duplicates: [{ index: 0, idempotencyKey: 'a' }, { index: 2, idempotencyKey: 'b' }], refused: [] });
    expect((await rowsOf(account)).map((r) => [r.idempotency_key, r.quantity])).toEqual([['a', '1'], ['b', '2'], ['c', '4']]);
  });

  it('keys are per account: the same key for two accounts is two records', async () => {
    const [a, b] = [`user:${uid('u')}`, `user:${uid('u')}`];
    const res = await postUsage({ records: [rec(a, { idempotencyKey: 'same' }), rec(b, { idempotencyKey: 'same' })] });
    expect(res.body).toEqual({ accepted: 2, duplicates: [], refused: [] });
  });

  it('the same batch posted twice at once is recorded once', async () => {
    const account = `user:${uid('u')}`;
    const body = { records: Array.from({ length: 200 }, (_, i) => rec(account, { idempotencyKey: `k${i}`, quantity: i + 1 })) };
    const [x, y] = await Promise.all([postUsage(body), postUsage(body)]);
    expect([x.status, y.status]).toEqual([200, 200]);
    expect(x.body.accepted + y.body.accepted).toBe(200);
    expect(x.body.duplicates.length + y.body.duplicates.length).toBe(200);
    const [row] = await stack.sql<{ total: number }[]>`select sum(quantity)::int as total from billing_usage_records where account_id = ${account}`;
    expect(row?.total).toBe((200 * 201) / 2);
  });

  it('answers in the envelope dialect under /api/billing', async () => {
    const res = await postUsage(rec(`user:${uid('u')}`), { path: '/api/billing/usage' });
    expect(res.body).toEqual({ success: true, data: { accepted: 1, duplicates: [], refused: [] }, error: null });
  });
});

describe('POST usage: validation is all or nothing', () => {
  it('names every bad index and field, and writes nothing', async () => {
    const account = `user:${uid('u')}`;
    const res = await postUsage({
      records: [
        rec(account),
        rec(account, { quantity: 0 }),
        rec('customer:42'),
        rec(account, { idempotencyKey: '' }),
        rec(account, { quantity: 1.5, extra: true }),
        { accountId: account },
        rec(account),
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('BAD_REQUEST');
    expect(res.body.error).toMatch(/nothing was recorded/);
    const fields = (res.body.details as Array<{ index: number; field: string }>).map((d) => `${d.index}:${d.field}`);
    expect(fields).toEqual(expect.arrayContaining(['1:quantity', '2:accountId', '3:idempotencyKey', '4:quantity', '4:extra', '5:quantity', '5:idempotencyKey']));
    expect(fields.some((f) => f.startsWith('0:') || f.startsWith('6:'))).toBe(false);
    expect(await rowsOf(account)).toHaveLength(0);
  });

  it('refuses empty and oversized batches, unknown top-level fields, malformed JSON and non-objects', async () => {
    const account = `user:${uid('u')}`;
    const tooMany = { records: Array.from({ length: 1001 }, (_, i) => rec(account, { idempotencyKey: `k${i}` })) };
    const cases: Array<[unknown, string]> = [
      [{ records: [] }, 'records'],
      [tooMany, 'records'],
      [{ records: [rec(account)], dryRun: true }, 'dryRun'],
      [[rec(account)], '(record)'],
    ];
    for (const [body, field] of cases) {
      const res = await postUsage(body);
      expect(res.status, field).toBe(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    }
    const malformed = await postUsage('{"records": [');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('Malformed JSON body');
    expect(await rowsOf(account)).toHaveLength(0);
  });

  it('refuses account ids Postgres could not store (lone surrogates, control characters, over 255 characters) with a 400, not a 500', async () => {
    const account = `user:${uid('u')}`;
    const bad = ['user:ab\uD800cd', 'org:\uDC00', 'user:a\u0000b', 'user:tab\there', `user:${'x'.repeat(256)}`, 'user:'];
    const res = await postUsage({ records: [rec(account), ...bad.map((id) => rec(id))] });
    expect(res.status).toBe(400);
    const fields = (res.body.details as Array<{ index: number; field: string }>).map((d) => `${d.index}:${d.field}`);
    expect(fields).toEqual(bad.map((_, i) => `${i + 1}:accountId`));
    expect(await rowsOf(account)).toHaveLength(0);
    // The JSON escape a client would really send reaches the parser as the same lone surrogate.
    const raw = await postUsage(`{"accountId":"user:\\ud800","quantity":1,"idempotencyKey":"k1"}`);
    expect(raw.status).toBe(400);
    expect(raw.body.details).toEqual([expect.objectContaining({ field: 'accountId' })]);
    // The other strings that reach the database are held to the same: the key and a timestamp.
    const others = await postUsage({
      records: [rec(account, { idempotencyKey: 'k\uD800' }), rec(account, { idempotencyKey: 'k\u0000' }), rec(account, { timestamp: `${new Date().toISOString()}\uDC00` })],
    });
    expect(others.status).toBe(400);
    expect((others.body.details as Array<{ index: number; field: string }>).map((d) => `${d.index}:${d.field}`)).toEqual(['0:idempotencyKey', '1:idempotencyKey', '2:timestamp']);
    expect(await rowsOf(account)).toHaveLength(0);
  });

  it('accepts a full batch of 1,000 in one call', async () => {
    const account = `org:${uid('org')}`;
    const res = await postUsage({ records: Array.from({ length: 1000 }, (_, i) => rec(account, { idempotencyKey: `evt-${'x'.repeat(200)}-${i}` })) });
    expect(res.status).toBe(200);
    expect(res.body.accepted).toBe(1000);
  });
});

/** `unix` as an ISO 8601 date-time at a +hh:00 offset (the same instant). */
const withOffset = (unix: number, hours: number) =>
  `${new Date((unix + hours * 3600) * 1000).toISOString().slice(0, 19)}+${String(hours).padStart(2, '0')}:00`;

describe('POST usage: timestamps', () => {
  it('takes unix seconds or ISO 8601 and stores that time; without one, the time of the call', async () => {
    const account = `user:${uid('u')}`;
    const ts = nowS() - 3 * DAY;
    const before = Date.now();
    await postUsage({
      records: [
        rec(account, { idempotencyKey: 'unix', timestamp: ts }),
        rec(account, { idempotencyKey: 'iso', timestamp: withOffset(ts + 60, 2) }),
        rec(account, { idempotencyKey: 'now' }),
      ],
    });
    const rows = await rowsOf(account);
    expect(rows.map((r) => r.idempotency_key)).toEqual(['unix', 'iso', 'now']);
    expect(rows[0]!.occurred_at.getTime()).toBe(ts * 1000);
    expect(rows[1]!.occurred_at.getTime()).toBe((ts + 60) * 1000);
    expect(rows[2]!.occurred_at.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(rows[2]!.occurred_at.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('refuses usage older than 35 days or more than 5 minutes ahead (Stripe would), naming the index', async () => {
    const account = `user:${uid('u')}`;
    const ok = await postUsage({
      records: [rec(account, { timestamp: nowS() - 35 * DAY + 60 }), rec(account, { timestamp: nowS() + 4 * 60 })],
    });
    expect(ok.body.accepted).toBe(2);
    const res = await postUsage({
      records: [
        rec(account, { timestamp: nowS() - 35 * DAY - 60 }),
        rec(account, { timestamp: nowS() + 6 * 60 }),
        rec(account, { timestamp: Date.now() }), // milliseconds by mistake: far in the future
        rec(account, { timestamp: 'yesterday' }),
        rec(account, { timestamp: new Date((nowS() - 36 * DAY) * 1000).toISOString() }),
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([
      { index: 0, field: 'timestamp', message: expect.stringMatching(/35 days/) },
      { index: 1, field: 'timestamp', message: expect.stringMatching(/5 minutes/) },
      { index: 2, field: 'timestamp', message: expect.stringMatching(/5 minutes/) },
      { index: 3, field: 'timestamp', message: expect.any(String) },
      { index: 4, field: 'timestamp', message: expect.stringMatching(/35 days/) },
    ]);
    expect(await rowsOf(account)).toHaveLength(2);
  });
});
