/**
 * Fault tests' setup: the real stack (a fresh Postgres database, Redis behind the Upstash
 * bridge), the Stripe double delivering signed webhooks to the real handler over HTTP, and
 * a TCP proxy in front of Postgres that the handlers connect through (DATABASE_URL), so a
 * test can make the database slow, unreachable, or lose a connection mid-transaction.
 * `stack.sql` connects directly, so tables can be checked whatever the proxy does.
 */
import { checkoutSessionIdOf } from '../../dev/stripe-double/index.ts';
import { expect, vi } from 'vitest';
import { startTcpProxy, type DropPredicate, type TcpProxy } from '../../dev/tcp-proxy.ts';
import { config } from '../../shared/config.ts';
import { getStore } from '../../shared/store/index.ts';
import type { ReportOptions, ReportResult } from '../../shared/usage/report.ts';
import { uid, type Call, type Stack } from '../helpers/stack.ts';
import { startStripeStack, type StripeSide } from '../helpers/stripe.ts';
import { EVENT_NAME, METER, postUsage, report, SERVICE_KEY } from '../usage/helpers.ts';

// The Stripe side and the checks on it are the whole suite's; usage is posted and reported
// as the usage tests do it.
export { checkedOut, expectSubscriptionsMatchStripe, signedWebhook, type StripeSide } from '../helpers/stripe.ts';
export { minute, postUsage, report } from '../usage/helpers.ts';

export interface FaultStack {
  stack: Stack;
  s: StripeSide;
  /** The proxy between the handlers and Postgres. */
  pg: TcpProxy;
  /** DATABASE_URL through the proxy (what the handlers use). */
  proxiedUrl: string;
  stop(): Promise<void>;
}

export async function startFaultStack(env: Record<string, string | undefined> = {}): Promise<FaultStack> {
  const { stack, s } = await startStripeStack();
  const direct = new URL(stack.databaseUrl);
  const pg = await startTcpProxy({ target: { host: direct.hostname, port: Number(direct.port) } });
  const proxiedUrl = pg.rewriteUrl(stack.databaseUrl);
  stack.setEnv({
    DATABASE_URL: proxiedUrl,
    BILLING_SERVICE_KEY: SERVICE_KEY,
    STRIPE_METER_EVENT_NAME: EVENT_NAME,
    STRIPE_METER_ID: METER,
    USAGE_REPORT_WINDOW_SECONDS: '60',
    ...env,
  });
  return {
    stack,
    s,
    pg,
    proxiedUrl,
    async stop() {
      await s.stop();
      await pg.close();
      await stack.stop();
    },
  };
}

export const sessionIdOf = checkoutSessionIdOf;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The double's customers made for `account` (by the metadata checkout gives them). */
export const customersOf = (s: StripeSide, account: string) =>
  [...s.double.state.customers.values()].filter((c) => c.metadata?.['account_id'] === account);

/** Every customer link we hold names a customer the double has (no link without a customer). */
export async function expectLinksAreRealCustomers(stack: Stack, s: StripeSide): Promise<void> {
  const links = await stack.sql<{ id: string; stripe_customer_id: string }[]>`
    select id, stripe_customer_id from billing_accounts where stripe_customer_id is not null`;
  for (const l of links) expect(s.double.state.customers.has(l.stripe_customer_id), `${l.id} -> ${l.stripe_customer_id}`).toBe(true);
}

// The usage invariant (Stripe's meter equals our ledger, all of it reported) is the one
// the usage tests use.
export { expectStripeMatchesLedger as expectLedgerMatchesStripe, stripeTotal as meterTotal } from '../usage/helpers.ts';

/** Runs the reporter until nothing is left to claim (or `max` runs). */
export async function reportAll(overrides: Partial<ReportOptions> = {}, max = 10): Promise<ReportResult[]> {
  const runs: ReportResult[] = [];
  for (let i = 0; i < max; i++) {
    const r = await report(overrides);
    runs.push(r);
    if (r.claimed === 0) break;
  }
  return runs;
}

export interface LogLine {
  level: string;
  event: string;
  [k: string]: unknown;
}

/**
 * Captures the JSON log lines the handlers write at warn and error level (they go to
 * console.error), for tests that check a degradation was logged.
 */
export function captureWarnings(): { lines: LogLine[]; events(): string[]; restore(): void } {
  const lines: LogLine[] = [];
  const before = process.env.LOG_LEVEL;
  process.env.LOG_LEVEL = 'warn';
  const spy = vi.spyOn(console, 'error').mockImplementation((line: unknown) => {
    try {
      lines.push(JSON.parse(String(line)) as LogLine);
    } catch {
      // not one of ours
    }
  });
  return {
    lines,
    events: () => lines.map((l) => l.event),
    restore() {
      spy.mockRestore();
      if (before === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = before;
    },
  };
}

/** Checks an error response's shape in the dialect its path asked for. */
export function expectError(res: Call, path: string, status: number, code: string, message?: string | RegExp): void {
  expect(res.status, `${path}: ${res.text}`).toBe(status);
  const requestId = res.headers.get('x-request-id');
  expect(requestId, path).toMatch(/\S/);
  if (path.startsWith('/api/billing/')) {
    expect(res.body).toMatchObject({ success: false, data: null, error: { code, requestId } });
    if (message) expect(res.body.error.message).toMatch(message);
  } else {
    expect(res.body).toMatchObject({ code, requestId });
    if (message) expect(res.body.error).toMatch(message);
  }
}

/** An account linked to a real customer of the double (created through the SDK). */
export async function linkedAccount(s: StripeSide, kind: 'user' | 'organization' = 'user'): Promise<{ accountId: string; id: string; customer: string }> {
  const id = uid(kind === 'user' ? 'u' : 'org');
  const accountId = `${kind === 'user' ? 'user' : 'org'}:${id}`;
  const customer = await s.stripe.customers.create({ metadata: { account_id: accountId } });
  const linked = await getStore(config()).linkCustomer({ account_id: accountId, kind, customer_id: customer.id });
  expect(linked).toBe(customer.id);
  return { accountId, id, customer: customer.id };
}

/** Records usage through POST usage and checks it was taken. */
export async function recordUsage(records: Array<{ accountId: string; quantity: number; idempotencyKey?: string; timestamp?: number }>): Promise<void> {
  const res = await postUsage({ records: records.map((r) => ({ idempotencyKey: uid('k'), ...r })) });
  expect(res.status, res.text).toBe(200);
}

/**
 * A drop predicate for the proxy in front of an HTTP server: cuts the connection when the
 * answer to the first request matching `method` and `path` comes back (the server did the
 * work; the client never hears of it).
 */
function loseAnswerTo(method: string, path: RegExp): DropPredicate {
  const asked = new Set<number>();
  return (chunk) => {
    if (chunk.direction === 'up') {
      const line = /^([A-Z]+) (\S+) HTTP\/1\.1\r\n/.exec(chunk.text);
      if (line && line[1] === method && path.test(line[2]!.split('?')[0]!)) asked.add(chunk.connection.id);
      return false;
    }
    return asked.has(chunk.connection.id);
  };
}

/** Loses the answers to the next `times` requests matching method and path (see loseAnswerTo); resolves when all are lost. */
export async function loseAnswers(proxy: TcpProxy, method: string, path: RegExp, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await proxy.dropAfter(loseAnswerTo(method, path));
}

/** A connection string through the proxy, named so tests can find the app's sessions in pg_stat_activity. */
export function appDatabaseUrl(f: FaultStack, params: Record<string, string> = {}): string {
  const u = new URL(f.proxiedUrl);
  u.searchParams.set('application_name', 'billing_app');
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

/**
 * Startup parameters that make the server notice a vanished client within 50 ms, even while
 * its query waits for a lock (PostgreSQL 14+). Without it (the default), a backend whose
 * client is gone runs its statement to the end, commits, and only then fails to answer.
 */
export const NOTICING = { client_connection_check_interval: '50' };

/** A transaction of the test's own (direct connection), holding its locks until released (once; later calls do nothing). */
export async function hold(stack: Stack, statements: string[]): Promise<{ release(): Promise<void> }> {
  const tx = await stack.sql.reserve();
  await tx`begin`;
  for (const text of statements) await tx.unsafe(text);
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= (async () => {
        await tx`rollback`;
        tx.release();
      })();
      return released;
    },
  };
}

/** The pids of the app's sessions running `fn` that wait for a lock, once there are `count`. */
export async function waitingOnLock(stack: Stack, fn: string, count = 1): Promise<number[]> {
  for (let i = 0; i < 300; i++) {
    const rows = await stack.sql<{ pid: number }[]>`
      select pid from pg_stat_activity
      where application_name = 'billing_app' and wait_event_type = 'Lock' and query like ${`%${fn}%`}
      order by query_start`;
    if (rows.length >= count) return rows.map((r) => r.pid);
    await sleep(10);
  }
  throw new Error(`fewer than ${count} sessions of the app wait in ${fn}`);
}

/** Resolves once the backend has ended. */
export async function backendGone(stack: Stack, pid: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await stack.sql`select 1 from pg_stat_activity where pid = ${pid}`).length === 0) return;
    await sleep(10);
  }
  throw new Error(`backend ${pid} is still there`);
}
