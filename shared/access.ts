/**
 * Entitlement: what an account may use now, derived from the subscriptions we store.
 * Pure, so the same rules serve GET subscription, checkout's "Already subscribed" check
 * and the usage endpoint.
 */
import type { SubscriptionRow } from './store/types.ts';

export type AccessState = 'none' | 'trialing' | 'active' | 'past_due' | 'canceling' | 'ended';

export interface Access {
  state: AccessState;
  hasAccess: boolean;
  accessUntil: string | null;
  subscription: SubscriptionRow | null;
}

const DAY_MS = 86_400_000;

// Higher is better: the account's state is that of its best subscription.
const RANK: Record<AccessState, number> = { active: 5, canceling: 4, trialing: 3, past_due: 2, ended: 1, none: 0 };

function accessOf(s: SubscriptionRow, now: number, graceDays: number): Omit<Access, 'subscription'> {
  const periodEnd = s.current_period_end;
  const canceling = s.cancel_at_period_end || (s.cancel_at !== null && Date.parse(s.cancel_at) > now);
  switch (s.status) {
    case 'active':
      return canceling
        ? { state: 'canceling', hasAccess: true, accessUntil: s.cancel_at ?? periodEnd }
        : { state: 'active', hasAccess: true, accessUntil: periodEnd };
    case 'trialing':
      return canceling
        ? { state: 'canceling', hasAccess: true, accessUntil: s.cancel_at ?? s.trial_end ?? periodEnd }
        : { state: 'trialing', hasAccess: true, accessUntil: s.trial_end ?? periodEnd };
    case 'past_due': {
      const since = Date.parse(s.past_due_since ?? s.current_period_start ?? s.stripe_created);
      const until = since + graceDays * DAY_MS;
      return until > now
        ? { state: 'past_due', hasAccess: true, accessUntil: new Date(until).toISOString() }
        : { state: 'ended', hasAccess: false, accessUntil: new Date(until).toISOString() };
    }
    // Checkout started but not paid: nothing granted yet.
    case 'incomplete':
      return { state: 'none', hasAccess: false, accessUntil: null };
    default: // canceled, incomplete_expired, unpaid, paused
      return { state: 'ended', hasAccess: false, accessUntil: s.ended_at ?? s.canceled_at ?? null };
  }
}

const time = (iso: string | null) => (iso === null ? 0 : Date.parse(iso));

export function accessFor(subscriptions: SubscriptionRow[], graceDays: number, now = Date.now()): Access {
  let best: Access = { state: 'none', hasAccess: false, accessUntil: null, subscription: null };
  for (const s of subscriptions) {
    const a = { ...accessOf(s, now, graceDays), subscription: s };
    const better =
      RANK[a.state] > RANK[best.state] ||
      (RANK[a.state] === RANK[best.state] && time(a.accessUntil) > time(best.accessUntil));
    if (better) best = a;
  }
  // One timestamp format on the wire, whatever the database printed.
  return { ...best, accessUntil: best.accessUntil && new Date(best.accessUntil).toISOString() };
}
