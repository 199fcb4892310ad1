/** The double's building blocks on their own: form parsing, parameter schemas, idempotency under concurrency, diffs, dates. */
import { describe, expect, it } from 'vitest';
import { addMonths } from '../../dev/stripe-double/clock.ts';
import { previousAttributes } from '../../dev/stripe-double/diff.ts';
import { ApiError } from '../../dev/stripe-double/errors.ts';
import { parseForm } from '../../dev/stripe-double/form.ts';
import { IdempotencyStore, type SavedResponse } from '../../dev/stripe-double/idempotency.ts';
import { mergeMetadata, parseParams, unsupported, type Fields } from '../../dev/stripe-double/params.ts';

describe('form parsing', () => {
  it('nests bracketed keys, indexes arrays, appends with []', () => {
    const form = parseForm(
      'a=1&b[c]=2&b[d][e]=3&items[0][price]=p1&items[1][price]=p2&items[1][quantity]=4&expand[]=x&expand[]=y&s=hello+world%21&m[0]=zero',
    );
    expect(form).toEqual({
      a: '1',
      b: { c: '2', d: { e: '3' } },
      items: { '0': { price: 'p1' }, '1': { price: 'p2', quantity: '4' } },
      expand: { '0': 'x', '1': 'y' },
      s: 'hello world!',
      m: { '0': 'zero' },
    });
  });
});

describe('parameter schemas', () => {
  const fields: Fields = {
    name: { t: 'string' },
    count: { t: 'integer', min: 1 },
    on: { t: 'boolean' },
    items: { t: 'array', of: { t: 'object', fields: { price: { t: 'string' } }, required: ['price'] } },
    metadata: { t: 'map' },
    note: { t: 'string', nullable: true },
  };
  const parse = (qs: string) => parseParams<Record<string, unknown>>(fields, parseForm(qs));
  const fail = (qs: string) => {
    try {
      parse(qs);
    } catch (err) {
      if (err instanceof ApiError) return { status: err.status, ...err.body };
      throw err;
    }
    throw new Error('expected a parameter error');
  };

  it('coerces integers, booleans, arrays and keeps maps as maps', () => {
    expect(parse('name=n&count=3&on=true&items[0][price]=p&items[1][price]=q&metadata[0]=a&note=&expand[0]=customer')).toEqual({
      name: 'n',
      count: 3,
      on: true,
      items: [{ price: 'p' }, { price: 'q' }],
      metadata: { '0': 'a' },
      note: null,
      expand: ['customer'],
    });
  });

  it('answers Stripe’s errors', () => {
    expect(fail('nope=1')).toMatchObject({ status: 400, code: 'parameter_unknown', param: 'nope' });
    expect(fail('items[0][qty]=1')).toMatchObject({ code: 'parameter_unknown', param: 'items[0][qty]' });
    expect(fail('items[0][x]=')).toMatchObject({ param: 'items[0][x]' });
    expect(fail('items[0]=p')).toMatchObject({ param: 'items[0]', message: 'Invalid hash' });
    expect(fail('count=abc')).toMatchObject({ code: 'parameter_invalid_integer', param: 'count', message: 'Invalid integer: abc' });
    expect(fail('count=0')).toMatchObject({ code: 'parameter_invalid_integer', param: 'count' });
    expect(fail('on=yes')).toMatchObject({ param: 'on', message: 'Invalid boolean: yes' });
    expect(fail('name=')).toMatchObject({ code: 'parameter_invalid_empty', param: 'name' });
    expect(fail('items[0][price]=p&items[1][foo]=x')).toMatchObject({ param: 'items[1][foo]' });
    expect(parseParams<Record<string, unknown>>({ a: { t: 'string' } }, {}, [])).toEqual({});
    try {
      parseParams({ a: { t: 'string' } }, {}, ['a']);
      throw new Error('expected parameter_missing');
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).body).toMatchObject({ code: 'parameter_missing', param: 'a', message: 'Missing required param: a.' });
    }
  });

  it('rejects an unsupported parameter at its nested path, whatever its value', () => {
    const schema: Fields = { items: { t: 'array', of: { t: 'object', fields: { price: { t: 'string' }, price_data: unsupported } } } };
    expect(parseParams(schema, parseForm('items[0][price]=p'))).toEqual({ items: [{ price: 'p' }] });
    for (const qs of ['items[0][price]=p&items[1][price_data][currency]=usd', 'items[0][price]=p&items[1][price_data]=']) {
      try {
        parseParams(schema, parseForm(qs));
        throw new Error('expected the parameter to be rejected');
      } catch (err) {
        expect(err).toBeInstanceOf(ApiError);
        expect((err as ApiError).status).toBe(400);
        expect((err as ApiError).body).toMatchObject({
          type: 'invalid_request_error',
          param: 'items[1][price_data]',
          message: "The Stripe double does not support 'items[1][price_data]' (Stripe does); extend dev/stripe-double if you need it.",
        });
      }
    }
  });

  it('merges metadata like Stripe: empty values delete, null clears', () => {
    expect(mergeMetadata({ a: '1', b: '2' }, { b: '', c: '3' })).toEqual({ a: '1', c: '3' });
    expect(mergeMetadata({ a: '1' }, null)).toEqual({});
    expect(mergeMetadata({ a: '1' }, undefined)).toEqual({ a: '1' });
  });
});

describe('idempotency store', () => {
  const response = (body: string): SavedResponse => ({ status: 200, body, headers: {}, requestId: 'req_1' });

  it('lets a concurrent repeat wait for the first execution and replay it', async () => {
    const store = new IdempotencyStore();
    let runs = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const execute = async () => {
      runs += 1;
      await gate;
      return { response: response(`run ${runs}`), save: true };
    };
    const first = store.run('sk', 'key', 'POST /v1/x', { a: '1' }, execute);
    const second = store.run('sk', 'key', 'POST /v1/x', { a: '1' }, execute);
    const mismatch = store.run('sk', 'key', 'POST /v1/x', { a: '2' }, execute);
    await expect(mismatch).rejects.toMatchObject({ body: { type: 'idempotency_error' } });
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(runs).toBe(1);
    expect(a).toEqual({ response: response('run 1'), replayed: false });
    expect(b).toEqual({ response: response('run 1'), replayed: true });
    // Another API key is another namespace.
    const other = await store.run('sk_other', 'key', 'POST /v1/x', { a: '2' }, async () => ({ response: response('other'), save: true }));
    expect(other.replayed).toBe(false);
  });

  it('runs again after an unsaved (validation) result', async () => {
    const store = new IdempotencyStore();
    let runs = 0;
    const execute = async () => {
      runs += 1;
      return { response: response(`run ${runs}`), save: runs > 1 };
    };
    await store.run('sk', 'k', 'POST /v1/x', {}, execute);
    const again = await store.run('sk', 'k', 'POST /v1/x', {}, execute);
    expect(again).toEqual({ response: response('run 2'), replayed: false });
  });
});

describe('previous_attributes', () => {
  it('keeps changed keys with old values, recursing into hashes and taking arrays whole', () => {
    const before = { status: 'active', metadata: { a: '1', b: '2' }, items: { data: [{ id: 'si', q: 1 }], url: 'u' }, same: 1 };
    const after = { status: 'past_due', metadata: { a: '1', b: '3', c: '4' }, items: { data: [{ id: 'si', q: 2 }], url: 'u' }, same: 1 };
    expect(previousAttributes(before, after)).toEqual({
      status: 'active',
      metadata: { b: '2', c: null },
      items: { data: [{ id: 'si', q: 1 }] },
    });
    expect(previousAttributes(before, structuredClone(before))).toBeUndefined();
  });
});

describe('billing dates', () => {
  it('adds calendar months in UTC, clamping to the end of shorter months', () => {
    const jan31 = Date.UTC(2027, 0, 31, 12, 30, 0) / 1000;
    expect(new Date(addMonths(jan31, 1) * 1000).toISOString()).toBe('2027-02-28T12:30:00.000Z');
    expect(new Date(addMonths(jan31, 2) * 1000).toISOString()).toBe('2027-03-31T12:30:00.000Z');
    expect(new Date(addMonths(jan31, 13) * 1000).toISOString()).toBe('2028-02-29T12:30:00.000Z');
    expect(new Date(addMonths(Date.UTC(2027, 11, 15) / 1000, 1) * 1000).toISOString()).toBe('2028-01-15T00:00:00.000Z');
  });
});
