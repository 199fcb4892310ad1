/**
 * One plan change at a time per account (migration 20261205200000_plan_changes.sql): a
 * change reads the subscription from Stripe and then writes it, so two at once could each
 * undo the other (a schedule made by one while the other releases it). The second waits
 * for the first, then reads what the first left.
 */
import { randomUUID } from 'node:crypto';
import { ApiError } from '../errors.ts';
import type { Store } from '../store/index.ts';

/** Longer than a change takes (at most three Stripe calls); a dead holder's lease ends by itself. */
const LEASE_SECONDS = 30;
/** How long a second change waits: under the functions' 10 s limit, with time left to run. */
const WAIT_MS = 5_000;
const POLL_MS = 100;

export async function withChangeLock<T>(store: Store, accountId: string, change: () => Promise<T>): Promise<T> {
  const token = randomUUID();
  const giveUpAt = Date.now() + WAIT_MS;
  while (!(await store.lockChange({ account_id: accountId, token, seconds: LEASE_SECONDS }))) {
    if (Date.now() >= giveUpAt) {
      throw new ApiError('CONFLICT', 'Another change to this subscription is still running: try again in a moment', { headers: { 'retry-after': '1' } });
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  try {
    return await change();
  } finally {
    // A failure to unlock only delays the next change until the lease ends.
    await store.unlockChange({ account_id: accountId, token }).catch(() => undefined);
  }
}
