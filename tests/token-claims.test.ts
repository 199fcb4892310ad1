/**
 * Tokens as the apps that call us already issue them: the user id in a claim other than
 * `sub` (seed 2's project signs `{ id, email }`), and emails that Stripe or Postgres would
 * refuse, which are dropped rather than turned into a 500.
 */
import { SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../functions/checkout.ts';
import subscription from '../functions/subscription.ts';
import { checkoutSessionIdOf } from '../dev/stripe-double/index.ts';
import { call, TEST_JWT_SECRET, uid, type Stack } from './helpers/stack.ts';
import { startStripeStack, type StripeSide } from './helpers/stripe.ts';

const sign = (claims: JWTPayload) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(TEST_JWT_SECRET));

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
});
afterAll(() => stop());

const get = async (token: string) => call(subscription, 'GET', '/api/stripe/subscription', { token });

describe('the user id claim (JWT_USER_ID_CLAIM)', () => {
  it('is sub by default: a token with only `id` is refused', async () => {
    const res = await get(await sign({ id: uid('u'), email: 'a@example.com' }));
    expect(res.status).toBe(401);
  });

  it('can be `id`, as seed 2 signs tokens; a token with neither is refused', async () => {
    stack.setEnv({ JWT_USER_ID_CLAIM: 'id' });
    try {
      const user = uid('u');
      const ok = await get(await sign({ id: user, email: 'a@example.com' }));
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ accountId: `user:${user}`, accountType: 'user', state: 'none' });
      const numeric = await get(await sign({ id: 4217 }));
      expect(numeric.body).toMatchObject({ accountId: 'user:4217' });
      // With `id` configured, `sub` alone does not name the user (no silent fallback).
      expect((await get(await sign({ sub: uid('u') }))).status).toBe(401);
      expect((await get(await sign({ email: 'a@example.com' }))).status).toBe(401);
      // A user id the user may edit (user_metadata/app_metadata) never names the account.
      expect((await get(await sign({ app_metadata: { id: 'victim' } }))).status).toBe(401);
    } finally {
      stack.setEnv({ JWT_USER_ID_CLAIM: undefined });
    }
  });

  it('is refused at start-up when it is not a claim name', async () => {
    stack.setEnv({ JWT_USER_ID_CLAIM: 'a b' });
    try {
      const res = await get(await sign({ sub: uid('u') }));
      expect(res.status).toBe(500);
      expect(res.text).not.toContain('JWT_USER_ID_CLAIM');
    } finally {
      stack.setEnv({ JWT_USER_ID_CLAIM: undefined });
    }
  });
});

describe('an unusable email in the token is dropped, never a 500 and never sent to Stripe', () => {
  const bad = {
    'lone surrogate': 'ada\uD800@example.com',
    'control character': 'ada\u0000@example.com',
    'too long': `${'a'.repeat(250)}@example.com`,
    'not an email': 'ada example.com',
    'not a string': 42,
    // Shapes Stripe's own email check refuses (a failed checkout), or may.
    'no dot in the domain': 'ada@localhost',
    'double dot': 'ada..lovelace@example.com',
    'over 64 characters before the @': `${'a'.repeat(65)}@example.com`,
    'not ASCII': 'ädä@example.com',
  };
  for (const [what, email] of Object.entries(bad)) {
    it(what, async () => {
      const user = uid('u');
      const res = await call(checkout, 'POST', '/api/stripe/checkout', { token: await sign({ sub: user, email }) });
      expect(res.status).toBe(200);
      const session = await s.stripe.checkout.sessions.retrieve(checkoutSessionIdOf(res.body.url));
      expect(session.metadata).toEqual({ account_id: `user:${user}`, user_id: user });
      const customer = await s.stripe.customers.retrieve(session.customer as string);
      expect(customer).toMatchObject({ email: null, metadata: { account_id: `user:${user}` } });
    });
  }
});
