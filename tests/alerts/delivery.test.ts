/**
 * Usage alerts reach the app: signed POSTs to ALERT_WEBHOOK_URL, each alert delivered once
 * (re-sent only while the app has not answered 2xx), retried while the app fails, never lost;
 * without a URL, logged. Real Postgres (the outbox is billing_usage_alerts), a real HTTP
 * receiver, usage recorded through POST usage past a plan's thresholds.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import usage from '../../functions/usage.ts';
import { deliverUsageAlerts, retryDelaySeconds, type UsageAlertEvent } from '../../shared/alerts/deliver.ts';
import { signAlert, verifyAlertSignature } from '../../shared/alerts/signature.ts';
import { handler as lambdaAlerts } from '../../lambda/usage-alerts.ts';
import { config } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { call, uid, type Stack } from '../helpers/stack.ts';
import { DAY, linkedAccount, nowS, postUsage, SERVICE_KEY, startUsageStack, TEST_CATALOGUE, type StripeSide } from '../usage/helpers.ts';

const SECRET = 'alert-secret-for-the-suite-0123456789';

let stack: Stack;
let s: StripeSide;
let app: Server;
let appUrl: string;
/** What the app answers next: a status, or 'hang' (no answer), or 'reset'. */
let answer: number | 'reset' | 'hang' = 200;
const received: Array<{ body: string; signature: string | null }> = [];

beforeAll(async () => {
  ({ stack, s } = await startUsageStack({ BILLING_CATALOGUE: JSON.stringify(TEST_CATALOGUE) }));
  app = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      if (answer === 'reset') return void req.socket.destroy();
      if (answer === 'hang') return; // never answers: the sender's timeout ends the attempt
      received.push({ body, signature: req.headers['billing-signature'] as string | null });
      res.writeHead(answer as number).end();
    });
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}/hooks/billing`;
  stack.setEnv({ ALERT_WEBHOOK_URL: appUrl, ALERT_WEBHOOK_SECRET: SECRET });
});
afterAll(async () => {
  app.closeAllConnections();
  await new Promise((r) => app.close(r));
  await s.stop();
  await stack.stop();
});

const log = createLogger({ function: 'test' });
const deliver = (timeoutMs = 2_000) => deliverUsageAlerts(config(), log, { timeBudgetMs: 10_000, timeoutMs });
const eventsFor = (accountId: string) => received.map((r) => JSON.parse(r.body) as UsageAlertEvent).filter((e) => e.data.accountId === accountId);
/** An account on Basic (exports: hard 10) that reached 80 % and 100 % of it. */
async function crossed(): Promise<string> {
  const a = await linkedAccount({ period: { start: nowS() - DAY, end: nowS() + 29 * DAY }, priceId: 'price_basic_monthly' });
  await postUsage({ records: Array.from({ length: 10 }, () => ({ accountId: a.accountId, quantity: 1, idempotencyKey: uid('k'), feature: 'exports' })) });
  return a.accountId;
}
/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
/** Makes every undelivered alert due now (instead of waiting out its backoff). */
const dueNow = () => stack.sql`update billing_usage_alerts set next_attempt_at = now() where delivered_at is null`;

describe('usage alert delivery', () => {
  it('POSTs each alert once, signed (Billing-Signature) so the app can verify it', async () => {
    answer = 200;
    const account = await crossed();
    await deliver();
    await deliver(); // nothing left: nothing re-sent
    const events = eventsFor(account);
    expect(events.map((e) => [e.type, e.data.feature, e.data.threshold, e.data.used, e.data.limit])).toEqual([
      ['usage.threshold_reached', 'exports', 80, 10, 10],
      ['usage.threshold_reached', 'exports', 100, 10, 10],
    ]);
    expect(new Set(events.map((e) => e.id)).size).toBe(2);
    for (const r of received.filter((x) => x.body.includes(account))) expect(verifyAlertSignature(r.body, r.signature, SECRET)).toBe(true);
    const rows = await stack.sql`select delivered_at, attempts from billing_usage_alerts where account_id = ${account}`;
    expect(rows.every((r) => r.delivered_at !== null && r.attempts === 1)).toBe(true);
  });

  it('the app failing (500, reset, no answer, unreachable) then recovering: delivered once after recovery, attempts counted, nothing lost', async () => {
    const account = await crossed();
    const sent = () => received.filter((r) => r.body.includes(account)).length;
    answer = 500;
    expect((await deliver()).failed).toBe(2);
    expect(sent()).toBe(2); // the app saw them and answered 500
    await dueNow();
    answer = 'reset';
    expect((await deliver()).failed).toBe(2);
    await dueNow();
    answer = 'hang';
    expect((await deliver(200)).failed).toBe(2);
    const timedOut = await stack.sql`select last_error from billing_usage_alerts where account_id = ${account}`;
    expect(timedOut.map((r) => r.last_error)).toEqual(['TimeoutError', 'TimeoutError']);
    await dueNow();
    stack.setEnv({ ALERT_WEBHOOK_URL: `http://127.0.0.1:${await closedPort()}/hooks/billing` });
    expect((await deliver()).failed).toBe(2);
    const failing = await stack.sql`select attempts, last_error, delivered_at, next_attempt_at > now() as later from billing_usage_alerts where account_id = ${account}`;
    expect(failing.map((r) => [r.attempts, r.delivered_at, r.later, r.last_error])).toEqual([[4, null, true, 'ECONNREFUSED'], [4, null, true, 'ECONNREFUSED']]);

    stack.setEnv({ ALERT_WEBHOOK_URL: appUrl });
    answer = 200;
    await deliver();
    expect(sent()).toBe(2); // backing off: not due yet
    await dueNow();
    expect((await deliver()).delivered).toBe(2);
    await dueNow();
    await deliver();
    expect(sent()).toBe(4); // once more each, then never again
    const accepted = received.filter((r) => r.body.includes(account)).slice(2).map((r) => (JSON.parse(r.body) as UsageAlertEvent).data.threshold);
    expect(accepted.sort()).toEqual([100, 80]);
    const rows = await stack.sql`select attempts, delivered_at from billing_usage_alerts where account_id = ${account}`;
    expect(rows.every((r) => r.delivered_at !== null && r.attempts === 5)).toBe(true);
  });

  it('backs off: 30 s, 1 min, 2 min... up to an hour', () => {
    expect([1, 2, 3, 4, 10, 50].map(retryDelaySeconds)).toEqual([30, 60, 120, 240, 3600, 3600]);
  });

  it('senders running at once deliver each alert once', async () => {
    answer = 200;
    const accounts = await Promise.all(Array.from({ length: 6 }, () => crossed()));
    await Promise.all([deliver(), deliver(), deliver(), lambdaAlerts({ time: new Date().toISOString() } as never)]);
    for (const account of accounts) {
      expect(eventsFor(account).map((e) => e.data.threshold).sort()).toEqual([100, 80]);
    }
  });

  it('POST usage sends the alerts its usage wrote once it has answered (ctx.waitUntil)', async () => {
    answer = 200;
    const a = await linkedAccount({ period: { start: nowS() - DAY, end: nowS() + 29 * DAY }, priceId: 'price_basic_monthly' });
    const work: Array<Promise<unknown>> = [];
    const req = new Request('http://localhost:8888/api/stripe/usage', {
      method: 'POST',
      headers: { authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ accountId: a.accountId, quantity: 8, idempotencyKey: uid('k'), feature: 'exports' }),
    });
    const res = await usage(req, { waitUntil: (p) => void work.push(p) });
    expect(res.status).toBe(200);
    await Promise.all(work);
    expect(eventsFor(a.accountId).map((e) => e.data.threshold)).toEqual([80]);
  });

  it('without ALERT_WEBHOOK_URL: logged (one line per alert) and marked delivered', async () => {
    stack.setEnv({ ALERT_WEBHOOK_URL: undefined });
    const lines: Array<{ event: string; fields?: Record<string, unknown> }> = [];
    const recorder = { info: (event: string, fields?: Record<string, unknown>) => void lines.push({ event, fields }), warn() {}, error() {} };
    try {
      const account = await crossed();
      await deliverUsageAlerts(config(), recorder, { timeBudgetMs: 10_000, timeoutMs: 2_000 });
      const logged = lines.filter((l) => l.event === 'usage_alert' && l.fields?.accountId === account);
      expect(logged.map((l) => l.fields?.threshold)).toEqual([80, 100]);
      expect(JSON.stringify(logged)).not.toContain(SECRET);
      const rows = await stack.sql`select delivered_at from billing_usage_alerts where account_id = ${account}`;
      expect(rows.every((r) => r.delivered_at !== null)).toBe(true);
      expect(received.some((r) => r.body.includes(account))).toBe(false);
    } finally {
      stack.setEnv({ ALERT_WEBHOOK_URL: appUrl });
    }
  });

  it('the signature: a tampered body, another secret, an old or missing timestamp fail', () => {
    const body = '{"id":"ua_1"}';
    const now = 1_800_000_000;
    const header = signAlert(body, SECRET, now);
    expect(verifyAlertSignature(body, header, SECRET, 300, now + 10)).toBe(true);
    expect(verifyAlertSignature(body.replace('1', '2'), header, SECRET, 300, now)).toBe(false);
    expect(verifyAlertSignature(body, header, 'another-secret-of-24-chars!!', 300, now)).toBe(false);
    expect(verifyAlertSignature(body, header, SECRET, 300, now + 301)).toBe(false);
    expect(verifyAlertSignature(body, header.replace(/t=\d+,/, ''), SECRET, 300, now)).toBe(false);
    expect(verifyAlertSignature(body, null, SECRET)).toBe(false);
  });

  it('ALERT_WEBHOOK_URL without a secret is a configuration error naming ALERT_WEBHOOK_SECRET', async () => {
    stack.setEnv({ ALERT_WEBHOOK_SECRET: undefined });
    try {
      const res = await call(usage, 'POST', '/api/stripe/usage', { headers: { authorization: `Bearer ${SERVICE_KEY}` }, body: { accountId: 'user:x', quantity: 1, idempotencyKey: uid('k') } });
      expect(res.status).toBe(500);
      expect(res.text).not.toContain('ALERT');
    } finally {
      stack.setEnv({ ALERT_WEBHOOK_SECRET: SECRET });
    }
  });
});
