/**
 * Races on webhooks that the plain duplicate tests (tests/webhook.test.ts: ten copies at
 * once, shuffled concurrent deliveries) do not cover: copies of one event racing while the
 * copy that got there first loses its database connection mid-transaction. The others
 * wait on its uncommitted event row; when it rolls back, exactly one of them applies the
 * event (it must not be answered "duplicate" with no effect), and the rest are duplicates.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Call, Stack } from '../helpers/stack.ts';
import {
  appDatabaseUrl, backendGone, checkedOut, expectSubscriptionsMatchStripe, hold, NOTICING, signedWebhook, startFaultStack, waitingOnLock,
  type FaultStack, type StripeSide,
} from '../faults/helpers.ts';

let f: FaultStack;
let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  f = await startFaultStack({ DATABASE_POOL_MAX: '6' });
  ({ stack, s } = f);
  stack.setEnv({ DATABASE_URL: appDatabaseUrl(f, NOTICING) });
});
afterEach(() => f.pg.disarm());
afterAll(() => f.stop());

describe('copies of one event while the first copy loses its connection', () => {
  for (const type of ['checkout.session.completed', 'customer.subscription.created'] as const) {
    it(`${type}: the cut copy 503s and rolls back; one of the waiting copies applies it, the others are duplicates`, async () => {
      const c = await checkedOut(s, { deliver: false });
      await s.double.idle(); // customer.created and the like, delivered after checkout's API calls
      const event = c.eventOf(type);
      const send = (): Promise<Call> => signedWebhook(s, event);

      // Which proxied connection carries which apply call, in order.
      const carriers: number[] = [];
      const unwatch = f.pg.watch((chunk) => {
        // (With a bound parameter the event id travels in the Bind message, the name in Parse.)
        if (chunk.direction === 'up' && chunk.text.includes(event.id)) carriers.push(chunk.connection.id);
      });
      // The first copy inserts the event row, then waits here for the subscription.
      const lock = await hold(stack, ['lock table billing_subscriptions in exclusive mode']);
      let first: Call;
      let others: Call[];
      try {
        const firstCall = send();
        const [firstPid] = (await waitingOnLock(stack, 'billing_apply_event', 1)) as [number];
        // Three more copies: they wait on the first one's uncommitted event row.
        const otherCalls = [send(), send(), send()];
        await waitingOnLock(stack, 'billing_apply_event', 4);
        expect(carriers).toHaveLength(4);
        expect(f.pg.drop(carriers[0]!)).toBe(true);
        first = await firstCall;
        await backendGone(stack, firstPid);
        // One of the others now holds the event row and waits on the same lock; the other
        // two wait on it (all three waiting: none is still running on its own).
        expect(await waitingOnLock(stack, 'billing_apply_event', 3)).toHaveLength(3);
        await lock.release();
        others = await Promise.all(otherCalls);
      } finally {
        unwatch();
        await lock.release();
      }
      expect(first.status).toBe(503);
      expect(others.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(others.map((r) => r.body).sort((a, b) => Number(Boolean(a.duplicate)) - Number(Boolean(b.duplicate)))).toEqual([
        { received: true },
        { received: true, duplicate: true },
        { received: true, duplicate: true },
      ]);
      expect(await stack.sql`select outcome from billing_stripe_events where id = ${event.id}`).toEqual([{ outcome: 'applied' }]);
      expect(await stack.sql`select 1 from billing_subscriptions where id = ${c.sub}`).toHaveLength(1);
      await expectSubscriptionsMatchStripe(stack, s, [c.customer]);
    });
  }
});
