/** Idempotency-Key: replay, mismatch, concurrency. */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StripeDouble } from '../../dev/stripe-double/index.ts';
import { setup, stripeError } from './helpers.ts';

let double: StripeDouble;
let stripe: Stripe;
beforeAll(async () => {
  ({ double, stripe } = await setup());
});
afterAll(() => double.close());

function post(path: string, body: string, key: string) {
  return fetch(`${double.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${double.apiKey}`, 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': key },
    body,
  });
}

describe('idempotency', () => {
  it('replays the first response for the same key and parameters', async () => {
    const key = `k-${Date.now()}-replay`;
    const a = await stripe.customers.create({ email: 'idem@example.com', metadata: { n: '1' } }, { idempotencyKey: key });
    const b = await stripe.customers.create({ email: 'idem@example.com', metadata: { n: '1' } }, { idempotencyKey: key });
    expect(b.id).toBe(a.id);
    expect(b).toEqual(a);
    expect((await stripe.customers.list({ email: 'idem@example.com' })).data).toHaveLength(1);
    const headers = b.lastResponse.headers;
    expect(headers['idempotent-replayed']).toBe('true');
    expect(headers['original-request']).toBe(a.lastResponse.requestId);
    expect(a.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect(double.requestLog.filter((r) => r.idempotencyKey === key).map((r) => r.replayed ?? false)).toEqual([false, true]);
  });

  it('replays errors too, with their status', async () => {
    const key = `k-${Date.now()}-error`;
    const first = await post('/v1/billing_portal/sessions', 'customer=cus_nobody', key);
    const second = await post('/v1/billing_portal/sessions', 'customer=cus_nobody', key);
    expect(first.status).toBe(400);
    expect(second.status).toBe(400);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.text()).toBe(await first.text());
  });

  it('refuses the same key with different parameters (idempotency_error)', async () => {
    const key = `k-${Date.now()}-mismatch`;
    await stripe.customers.create({ email: 'one@example.com' }, { idempotencyKey: key });
    const err = await stripeError(stripe.customers.create({ email: 'two@example.com' }, { idempotencyKey: key }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(err).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
    expect(err.message).toContain(`Try using a key other than '${key}'`);
    const otherEndpoint = await stripeError(stripe.products.create({ name: 'x' }, { idempotencyKey: key }));
    expect(otherEndpoint).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('gives two concurrent identical requests one object', async () => {
    const key = `k-${Date.now()}-race`;
    const params = {
      mode: 'subscription' as const,
      line_items: [{ price: 'price_basic_monthly', quantity: 1 }],
      success_url: 'https://x.example/ok',
      client_reference_id: key,
    };
    const results = await Promise.all([
      stripe.checkout.sessions.create(params, { idempotencyKey: key }),
      stripe.checkout.sessions.create(params, { idempotencyKey: key }),
      stripe.checkout.sessions.create(params, { idempotencyKey: key }),
    ]);
    expect(new Set(results.map((s) => s.id)).size).toBe(1);
    const stored = [...double.state.sessions.values()].filter((s) => s.client_reference_id === key);
    expect(stored).toHaveLength(1);
    expect(results.filter((s) => s.lastResponse.headers['idempotent-replayed'] === 'true')).toHaveLength(2);
  });

  it('does not save a request that failed validation: the key can be used again', async () => {
    const key = `k-${Date.now()}-invalid`;
    const bad = await post('/v1/customers', 'colour=red', key);
    expect(bad.status).toBe(400);
    const good = await post('/v1/customers', 'email=after%40example.com', key);
    expect(good.status).toBe(200);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
  });

  it('ignores Idempotency-Key on GET', async () => {
    const res = await fetch(`${double.url}/v1/customers`, { headers: { Authorization: `Bearer ${double.apiKey}`, 'Idempotency-Key': 'get-key' } });
    const again = await fetch(`${double.url}/v1/customers?limit=1`, { headers: { Authorization: `Bearer ${double.apiKey}`, 'Idempotency-Key': 'get-key' } });
    expect(res.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });
});
