/** The reporter's two ways in: Netlify's scheduled function and `npm run usage:report`. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler as lambdaScheduled } from '../../lambda/usage-report.ts';
import scheduled, { config as schedule } from '../../netlify/functions/usage-report.mts';
import usageEndpoint, { config as usageRoutes } from '../../netlify/functions/usage.mts';
import { call, uid, type Stack } from '../helpers/stack.ts';
import { lambdaContext } from '../lambda/events.ts';
import { EVENT_NAME, expectStripeMatchesLedger, linkedAccount, nowS, record, SERVICE_KEY, startUsageStack, stripeTotal, type StripeSide } from './helpers.ts';

const run = promisify(execFile);

let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  ({ stack, s } = await startUsageStack());
});
afterEach(async () => {
  await expectStripeMatchesLedger(stack, s);
});
afterAll(async () => {
  await s.stop();
  await stack.stop();
});

describe('entry points', () => {
  it('Netlify serves POST/GET usage at both paths and runs the reporter every minute', async () => {
    expect(usageRoutes.path).toEqual(['/api/stripe/usage', '/api/billing/usage']);
    expect(schedule.schedule).toBe('* * * * *');
    const a = await linkedAccount();
    const res = await call(usageEndpoint, 'POST', '/api/billing/usage', {
      body: { accountId: a.accountId, quantity: 21, idempotencyKey: uid('k') },
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    expect(res.status).toBe(200);
    const answer = await scheduled();
    expect(answer.status).toBe(204);
    expect(await stripeTotal(s, a.customer)).toBe(21);
  });

  it('without a meter configured, both scheduled entries succeed, send nothing and keep the usage pending', async () => {
    const a = await linkedAccount();
    await record([{ accountId: a.accountId, quantity: 4, idempotencyKey: uid('k') }]);
    const meter = process.env['STRIPE_METER_EVENT_NAME'];
    stack.setEnv({ STRIPE_METER_EVENT_NAME: undefined });
    try {
      expect((await scheduled()).status).toBe(204);
      // On Lambda a thrown error would count in the Errors metric (and its alarm) every minute.
      await expect(lambdaScheduled({ time: new Date().toISOString() }, lambdaContext())).resolves.toMatchObject({ stopped: 'off', claimed: 0 });
      expect(await stripeTotal(s, a.customer)).toBe(0);
    } finally {
      stack.setEnv({ STRIPE_METER_EVENT_NAME: meter });
    }
    expect((await scheduled()).status).toBe(204);
    expect(await stripeTotal(s, a.customer)).toBe(4);
  });

  it('npm run usage:report reports what is pending and says so', async () => {
    const a = await linkedAccount();
    await record([
      { accountId: a.accountId, quantity: 5, idempotencyKey: uid('k'), timestamp: nowS() - 7200 },
      { accountId: a.accountId, quantity: 6, idempotencyKey: uid('k') },
    ]);
    const env = {
      ...process.env,
      DATABASE_URL: stack.databaseUrl,
      STRIPE_SECRET_KEY: 'sk_test_suite',
      STRIPE_API_BASE: s.double.url,
      STRIPE_METER_EVENT_NAME: EVENT_NAME,
      LOG_LEVEL: 'silent',
    };
    const { stdout } = await run('npx', ['tsx', 'scripts/usage-report.ts'], { env, cwd: process.cwd() });
    expect(stdout).toMatch(/usage:report done: 2 batch\(es\) claimed, 2 reported \(11 units; 0 Stripe already had\)/);
    expect(await stripeTotal(s, a.customer)).toBe(11);
  });
});
