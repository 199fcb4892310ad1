/**
 * The billing period usage is shown for: the current period of the account's best
 * subscription (the one that decides its access, see shared/access.ts) while that period
 * is running; when that period has ended but the subscription still renews (its renewal
 * webhook is late), the period it has most likely moved on to, marked as estimated;
 * otherwise the calendar month (UTC). The answer says which.
 */
import type { SubscriptionRow } from '../store/types.ts';

export interface UsagePeriod {
  start: string;
  end: string;
  source: 'subscription' | 'subscription_estimated' | 'calendar_month';
}

const DAY_MS = 86_400_000;
/** The average Gregorian month. */
const MONTH_MS = 30.436875 * DAY_MS;
/** How many periods a late subscription is rolled on at most (a daily plan: almost three years). */
const MAX_ROLLS = 1000;

const iso = (ms: number) => new Date(ms).toISOString();

export function calendarMonth(nowMs: number): UsagePeriod {
  const d = new Date(nowMs);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  const end = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return { start: iso(start), end: iso(end), source: 'calendar_month' };
}

/**
 * The end of the n-th period after the stored one. We do not store the price's interval, so
 * it is read from the stored period: about a whole number of months (month and year plans)
 * steps in calendar months on Stripe's anchor day (the 31st is clamped to shorter months, so
 * the anchor is the later day of the period's two ends); anything else (day and week plans)
 * steps by the period's exact length.
 */
function periodEnds(start: number, end: number): (n: number) => number {
  const length = end - start;
  const months = Math.round(length / MONTH_MS);
  if (months < 1 || Math.abs(length - months * MONTH_MS) > 3 * DAY_MS) return (n) => end + n * length;
  const e = new Date(end);
  const anchorDay = Math.max(new Date(start).getUTCDate(), e.getUTCDate());
  const timeOfDay = end - Date.UTC(e.getUTCFullYear(), e.getUTCMonth(), e.getUTCDate());
  return (n) => {
    const month = e.getUTCMonth() + n * months;
    const daysInMonth = new Date(Date.UTC(e.getUTCFullYear(), month + 1, 0)).getUTCDate();
    return Date.UTC(e.getUTCFullYear(), month, Math.min(anchorDay, daysInMonth)) + timeOfDay;
  };
}

/**
 * @param renewing the subscription still renews at its period's end (active or past due, not
 *   canceling): an ended period then means Stripe's renewal has not reached us yet, and the
 *   plan still applies to the period after it.
 */
export function usagePeriod(subscription: SubscriptionRow | null, nowMs = Date.now(), renewing = false): UsagePeriod {
  const start = subscription?.current_period_start ? Date.parse(subscription.current_period_start) : NaN;
  const end = subscription?.current_period_end ? Date.parse(subscription.current_period_end) : NaN;
  if (start <= nowMs && nowMs < end) return { start: iso(start), end: iso(end), source: 'subscription' };
  // An ended subscription keeps its last period, which is over: not the one to show.
  if (renewing && start < end && end <= nowMs) {
    const endOf = periodEnds(start, end);
    for (let n = 1, from = end; n <= MAX_ROLLS; n++) {
      const to = endOf(n);
      if (nowMs < to) return { start: iso(from), end: iso(to), source: 'subscription_estimated' };
      from = to;
    }
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
