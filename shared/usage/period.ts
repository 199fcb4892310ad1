/**
 * The billing period usage is shown for: the current period of the account's best
 * subscription (the one that decides its access, see shared/access.ts) while that period
 * is running; otherwise the calendar month (UTC), and the answer says which.
 */
import type { SubscriptionRow } from '../store/types.ts';

export interface UsagePeriod {
  start: string;
  end: string;
  source: 'subscription' | 'calendar_month';
}

export function calendarMonth(nowMs: number): UsagePeriod {
  const d = new Date(nowMs);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), source: 'calendar_month' };
}

export function usagePeriod(subscription: SubscriptionRow | null, nowMs = Date.now()): UsagePeriod {
  const start = subscription?.current_period_start ? Date.parse(subscription.current_period_start) : NaN;
  const end = subscription?.current_period_end ? Date.parse(subscription.current_period_end) : NaN;
  // An ended subscription keeps its last period, which is over: not the one to show.
  if (start <= nowMs && nowMs < end) {
    return { start: new Date(start).toISOString(), end: new Date(end).toISOString(), source: 'subscription' };
  }
  return calendarMonth(nowMs);
}

/** Stripe's meter event summaries take minute-aligned bounds: the period widened to whole minutes. */
export function minuteAligned(period: UsagePeriod): { start: number; end: number } {
  return {
    start: Math.floor(Date.parse(period.start) / 60_000) * 60,
    end: Math.ceil(Date.parse(period.end) / 60_000) * 60,
  };
}
