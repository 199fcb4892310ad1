import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import checkout from '../functions/checkout.ts';
import portal from '../functions/portal.ts';
import { call, tokenFor, uid, type Stack } from './helpers/stack.ts';
import { checkedOut, startStripeStack, type StripeSide } from './helpers/stripe.ts';

let stack: Stack;
let s: StripeSide;
let stop: () => Promise<void>;
beforeAll(async () => {
  ({ stack, s, stop } = await startStripeStack());
});
afterAll(() => stop());

const portalIdOf = (url: string) => /\/(bps_[A-Za-z0-9_]+)/.exec(url)![1]!;

describe('POST portal', () => {
  it('400 "No active subscription" without a customer, in both dialects', async () => {
    const token = await tokenFor({ sub: uid('u') });
    expect(await call(portal, 'POST', '/api/stripe/portal', { token })).toMatchObject({ status: 400, body: { error: 'No active subscription' } });
    const env = await call(portal, 'POST', '/api/billing/portal', { token });
    expect(env.body).toMatchObject({ success: false, error: { code: 'BAD_REQUEST', message: 'No active subscription' } });
  });

  it('400 for a customer that never subscribed (checkout started, not completed)', async () => {
    const token = await tokenFor({ sub: uid('u') });
    await call(checkout, 'POST', '/api/stripe/checkout', { token });
    expect((await call(portal, 'POST', '/api/stripe/portal', { token })).status).toBe(400);
  });

  it('opens the portal for the account\'s own customer, returning to the dashboard', async () => {
    const { token, customer } = await checkedOut(s);
    const res = await call(portal, 'POST', '/api/stripe/portal', { token });
    expect(res.status).toBe(200);
    expect(res.body.url).toMatch(/\/p\/session\/bps_/);
    const session = s.double.state.portalSessions.get(portalIdOf(res.body.url))!;
    expect(session.customer).toBe(customer);
    expect(session.return_url).toBe('https://app.example.com/dashboard');
    const env = await call(portal, 'POST', '/api/billing/portal', { token, body: { returnUrl: '/settings/billing' } });
    expect(env.body.data.url).toMatch(/\/p\/session\/bps_/);
    expect(s.double.state.portalSessions.get(portalIdOf(env.body.data.url))!.return_url).toBe('https://app.example.com/settings/billing');
  });

  it('refuses return URLs off the site', async () => {
    const { token } = await checkedOut(s);
    for (const returnUrl of ['//evil.example', 'https://app.example.com.evil.example', 'javascript:alert(1)']) {
      expect((await call(portal, 'POST', '/api/stripe/portal', { token, body: { returnUrl } })).status).toBe(400);
    }
  });

  it('refuses return URLs with userinfo or dot segments that leave a host-like path, and normalises the rest', async () => {
    const { token } = await checkedOut(s);
    const attacks = [
      'https://evil.example@app.example.com/dashboard', 'https://user:pw@app.example.com/', '/a/..//evil.example',
      '/./\/evil.example', '/%2e%2e//evil.example', 'https://app.example.com/x/..//evil.example', '/dash\tboard',
    ];
    for (const returnUrl of attacks) {
      const res = await call(portal, 'POST', '/api/stripe/portal', { token, body: { returnUrl } });
      expect(res.status, returnUrl).toBe(400);
    }
    const ok = await call(portal, 'POST', '/api/stripe/portal', { token, body: { returnUrl: '/account/../dashboard/./x?tab=1' } });
    expect(ok.status).toBe(200);
    expect(s.double.state.portalSessions.get(portalIdOf(ok.body.url))!.return_url).toBe('https://app.example.com/dashboard/x?tab=1');
  });

  it('one account can never open another account\'s portal', async () => {
    const victim = await checkedOut(s);
    const attacker = await checkedOut(s);
    for (const body of [{ customer: victim.customer }, { customerId: victim.customer }, { accountId: 'user:victim' }]) {
      const res = await call(portal, 'POST', '/api/stripe/portal', { token: attacker.token, body });
      expect(res.status).toBe(400);
    }
    const res = await call(portal, 'POST', '/api/stripe/portal', { token: attacker.token });
    const session = s.double.state.portalSessions.get(portalIdOf(res.body.url))!;
    expect(session.customer).toBe(attacker.customer);
    expect(session.customer).not.toBe(victim.customer);
  });

  it('organization members who are not billing managers get 403', async () => {
    const org = uid('org');
    await checkedOut(s, { org }); // its owner, through the real checkout and the double's webhooks
    const member = await call(portal, 'POST', '/api/stripe/portal', { token: await tokenFor({ sub: uid('u'), org, role: 'member' }) });
    expect(member.status).toBe(403);
    const admin = await call(portal, 'POST', '/api/stripe/portal', { token: await tokenFor({ sub: uid('u'), org, role: 'admin' }) });
    expect(admin.status).toBe(200);
  });
});
