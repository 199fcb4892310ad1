/**
 * DATABASE_URLs that ask for TLS connect through shared/store/pg-link.ts (fewer round trips
 * for a cold instance). Against the test suite's Postgres, which has no TLS and asks for a
 * cleartext password (not SCRAM), through a TCP proxy: `sslmode=prefer` still answers (TLS
 * refused: plain; the SCRAM guess refused: once more without it, and not again), a
 * connection cut during authentication is a 503 and the next call works, `sslmode=require`
 * is refused at once as unavailable (not a hang), and `preconnect` opens the connection the
 * first call then uses. TLS with SCRAM is measured by `npm run bench` (tests/bench/coldpath.test.ts).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { UnavailableError } from '../shared/errors.ts';
import { createSqlRpc } from '../shared/store/rpc-sql.ts';
import { appDatabaseUrl, startFaultStack, type FaultStack } from './faults/helpers.ts';

let f: FaultStack;
beforeAll(async () => {
  f = await startFaultStack();
});
afterAll(() => f.stop());

const account = (rpc: ReturnType<typeof createSqlRpc>) => rpc.call<{ account: unknown; subscriptions: unknown[] }>('billing_get_account', { account_id: 'user:nobody' });

it('sslmode=prefer on a server without TLS or SCRAM: answers, and guesses SCRAM wrong only once', async () => {
  const url = appDatabaseUrl(f, { sslmode: 'prefer' });
  const before = f.pg.stats.connections;
  const first = createSqlRpc(url, { max: 1 });
  try {
    expect(await account(first)).toEqual({ account: null, subscriptions: [] });
  } finally {
    await first.close();
  }
  // The guess reached the server as a wrong password message: one more connection, without it.
  expect(f.pg.stats.connections - before).toBe(2);
  const second = createSqlRpc(url, { max: 1 });
  try {
    expect(await account(second)).toEqual({ account: null, subscriptions: [] });
  } finally {
    await second.close();
  }
  expect(f.pg.stats.connections - before).toBe(3);
});

it('a connection cut during authentication is a 503, and the next call works', async () => {
  const rpc = createSqlRpc(appDatabaseUrl(f, { sslmode: 'prefer' }), { max: 1 });
  try {
    // The startup message (after the SSLRequest) gets through, then the connection is gone.
    const cut = f.pg.dropAfter((c) => c.direction === 'up' && c.text.includes('user') ? c.data.length : false);
    await expect(account(rpc)).rejects.toBeInstanceOf(UnavailableError);
    await cut;
    expect(await account(rpc)).toEqual({ account: null, subscriptions: [] });
  } finally {
    f.pg.disarm();
    await rpc.close();
  }
});

it('sslmode=require on a server without TLS: unavailable at once, not a hang', async () => {
  const rpc = createSqlRpc(appDatabaseUrl(f, { sslmode: 'require' }), { max: 1 });
  try {
    const err = await account(rpc).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(((err as Error).cause as { code?: string }).code).toBe('08001');
  } finally {
    await rpc.close();
  }
});

it('preconnect opens the connection the first call uses', async () => {
  const rpc = createSqlRpc(appDatabaseUrl(f, { sslmode: 'prefer' }), { max: 3 });
  try {
    const before = f.pg.stats.connections;
    rpc.preconnect!();
    await new Promise((r) => setTimeout(r, 100));
    expect(f.pg.stats.connections - before).toBe(1);
    expect(await account(rpc)).toEqual({ account: null, subscriptions: [] });
    expect(f.pg.stats.connections - before).toBe(1);
  } finally {
    await rpc.close();
  }
});
