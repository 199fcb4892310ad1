/**
 * Access: one account can never read or act on another's subscription, usage, customer
 * or portal, whatever ids it puts in the body, the query or the token's user-editable
 * claims; organization billing is for billing managers only.
 */
import { checkoutSessionIdOf as sessionIdOf } from '../../dev/stripe-double/index.ts';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../../functions/checkout.ts';
import portal from '../../functions/portal.ts';
import subscription from '../../functions/subscription.ts';
import usage from '../../functions/usage.ts';
import { call, TEST_JWT_SECRET, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { startStripeStack, type StripeSide } from '../helpers/stripe.ts';

const SERVICE_KEY = 'svc_access_test_key_0123456789abcdef';
let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
  stack.setEnv({ BILLING_SERVICE_KEY: SERVICE_KEY, STRIPE_METER_EVENT_NAME: 'tracked_events', STRIPE_METER_ID: 'mtr_double_events' });
});
afterAll(() => stop());

/** An account with a paid subscription and some recorded usage. */
async function victim(claims: { sub: string; org?: string; role?: string }) {
  const token = await tokenFor(claims);
  const res = await call(checkout, 'POST', '/api/stripe/checkout', { token });
  const done = await s.double.actions.completeCheckout(sessionIdOf(res.body.url));
  const accountId = claims.org ? `org:${claims.org}` : `user:${claims.sub}`;
  const posted = await call(usage, 'POST', '/api/stripe/usage', {
    headers: { authorization: `Bearer ${SERVICE_KEY}` },
    body: { accountId, quantity: 777, idempotencyKey: uid('k') },
  });
  expect(posted.status).toBe(200);
  return { token, accountId, customer: done.customer.id, subscription: done.subscription.id };
}

describe('one account never reaches another', () => {
  it('subscription and usage: ids in the query are ignored; each sees only its own', async () => {
    const v = await victim({ sub: uid('victim') });
    const attacker = await tokenFor({ sub: uid('attacker') });
    for (const q of [`?accountId=${v.accountId}`, `?customer=${v.customer}`, `?account_id=${encodeURIComponent(v.accountId)}&sub=x`]) {
      const sub = await call(subscription, 'GET', `/api/stripe/subscription${q}`, { token: attacker });
      expect(sub.status).toBe(200);
      expect(sub.body).toMatchObject({ state: 'none', customerId: null, subscription: null });
      const use = await call(usage, 'GET', `/api/billing/usage${q}`, { token: attacker });
      expect(use.status).toBe(200);
      expect(use.body.data).toMatchObject({ recorded: 0, customerId: null });
    }
    const own = await call(usage, 'GET', '/api/billing/usage', { token: v.token });
    expect(own.body.data.recorded).toBe(777);
  });

  it('checkout and portal take no account or customer from the body', async () => {
    const v = await victim({ sub: uid('victim') });
    const attackerId = uid('attacker');
    const attacker = await tokenFor({ sub: attackerId });
    for (const body of [{ customer: v.customer }, { customerId: v.customer }, { accountId: v.accountId }, { client_reference_id: v.accountId }, { metadata: { account_id: v.accountId } }]) {
      expect((await call(checkout, 'POST', '/api/stripe/checkout', { token: attacker, body })).status).toBe(400);
      expect((await call(portal, 'POST', '/api/billing/portal', { token: attacker, body })).status).toBe(400);
    }
    const mine = await call(checkout, 'POST', '/api/stripe/checkout', { token: attacker });
    const session = await s.stripe.checkout.sessions.retrieve(sessionIdOf(mine.body.url));
    // The attacker's own customer (checkout made and stored it), never the victim's.
    const [own] = await stack.sql<{ stripe_customer_id: string | null }[]>`
      select stripe_customer_id from billing_accounts where id = ${`user:${attackerId}`}`;
    expect(own?.stripe_customer_id).toMatch(/^cus_/);
    expect(session.customer).toBe(own!.stripe_customer_id);
    expect(session.customer).not.toBe(v.customer);
    expect(session.client_reference_id).toBe(`user:${attackerId}`);
    expect(session.client_reference_id).not.toBe(v.accountId);
  });

  it('a member of one organization never sees another organization', async () => {
    const orgA = uid('orgA');
    const a = await victim({ sub: uid('owner'), org: orgA, role: 'owner' });
    const outsider = await tokenFor({ sub: uid('u'), org: uid('orgB'), role: 'owner' });
    const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: outsider });
    expect(res.body.state).toBe('none');
    const member = await tokenFor({ sub: uid('u'), org: orgA, role: 'member' });
    expect((await call(subscription, 'GET', '/api/stripe/subscription', { token: member })).body).toMatchObject({ state: 'active', customerId: a.customer });
    expect((await call(usage, 'GET', '/api/stripe/usage', { token: member })).body.recorded).toBe(777);
  });

  it('members who are not billing managers cannot open checkout or the portal for their organization', async () => {
    const org = uid('org');
    await victim({ sub: uid('owner'), org, role: 'owner' });
    for (const role of ['member', 'viewer', 'billing', undefined]) {
      const token = await tokenFor({ sub: uid('u'), org, role });
      expect((await call(checkout, 'POST', '/api/stripe/checkout', { token })).status, String(role)).toBe(403);
      expect((await call(portal, 'POST', '/api/stripe/portal', { token })).status, String(role)).toBe(403);
    }
    stack.setEnv({ BILLING_MANAGER_ROLES: 'owner,billing' });
    try {
      const billing = await tokenFor({ sub: uid('u'), org, role: 'billing' });
      expect((await call(portal, 'POST', '/api/stripe/portal', { token: billing })).status).toBe(200);
    } finally {
      stack.setEnv({ BILLING_MANAGER_ROLES: undefined });
    }
  });

  it('claims a user can edit (Supabase user_metadata) never choose the organization or role', async () => {
    const org = uid('org');
    await victim({ sub: uid('owner'), org, role: 'owner' });
    const forged = await new SignJWT({ user_metadata: { org_id: org, org_role: 'owner' } })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(uid('u')).setExpirationTime('5m')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const res = await call(subscription, 'GET', '/api/stripe/subscription', { token: forged });
    expect(res.body.accountType).toBe('user');
    expect(res.body.state).toBe('none');
    expect((await call(portal, 'POST', '/api/stripe/portal', { token: forged })).status).toBe(400);
  });

  it('users cannot record usage: POST usage takes the service key only', async () => {
    const v = await victim({ sub: uid('victim') });
    for (const token of [v.token, await tokenFor({ sub: uid('u'), org: uid('o'), role: 'owner' })]) {
      const res = await call(usage, 'POST', '/api/stripe/usage', { token, body: { accountId: v.accountId, quantity: 1, idempotencyKey: uid('k') } });
      expect(res.status).toBe(401);
    }
    const wrong = await call(usage, 'POST', '/api/stripe/usage', {
      headers: { authorization: `Bearer ${SERVICE_KEY}x` }, body: { accountId: v.accountId, quantity: 1, idempotencyKey: uid('k') },
    });
    expect(wrong.status).toBe(401);
  });
});
