/**
 * The double's clock: wall time plus an offset that tests move forward.
 * Object timestamps and event `created` come from here; webhook signatures use
 * wall time (stripe-node checks their age against Date.now()).
 */
export class Clock {
  private offset = 0;

  now(): number {
    return Math.floor(Date.now() / 1000) + this.offset;
  }

  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError('clock.advance needs a non-negative number of seconds');
    this.offset += Math.floor(seconds);
  }

  /** Moves the clock forward to `timestamp` if it is in the future. */
  advanceTo(timestamp: number): void {
    const now = this.now();
    if (timestamp > now) this.offset += timestamp - now;
  }
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** `anchor` moved by `months` calendar months (UTC), day clamped to the month's end, like Stripe's billing anchors. */
export function addMonths(anchor: number, months: number): number {
  const d = new Date(anchor * 1000);
  const total = d.getUTCMonth() + months;
  const year = d.getUTCFullYear() + Math.floor(total / 12);
  const month = ((total % 12) + 12) % 12;
  const day = Math.min(d.getUTCDate(), daysInMonth(year, month));
  return Date.UTC(year, month, day, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()) / 1000;
}

/** A recurring interval as prices and schedule durations name it. */
export interface Interval {
  interval: 'day' | 'week' | 'month' | 'year';
  interval_count: number;
}

const INTERVALS = ['day', 'week', 'month', 'year'] as const;

/** The interval of a recurring price (`{interval, interval_count}`), monthly when it has none. */
export function intervalOf(recurring: { interval: string; interval_count: number } | null | undefined): Interval {
  const interval = INTERVALS.find((i) => i === recurring?.interval) ?? 'month';
  return { interval, interval_count: recurring?.interval_count ?? 1 };
}

/** `t` moved by `times` intervals: calendar months and years (day clamped), or whole days and weeks. */
export function addInterval(t: number, { interval, interval_count }: Interval, times = 1): number {
  const n = interval_count * times;
  switch (interval) {
    case 'day':
      return t + n * 86_400;
    case 'week':
      return t + n * 7 * 86_400;
    case 'month':
      return addMonths(t, n);
    case 'year':
      return addMonths(t, 12 * n);
  }
}

/** The first billing-cycle boundary strictly after `t`, counted in intervals from `anchor`. */
export function nextBoundary(anchor: number, t: number, every: Interval): number {
  for (let k = 1; k < 100_000; k++) {
    const b = addInterval(anchor, every, k);
    if (b > t) return b;
  }
  throw new Error('billing anchor too far in the past');
}

export function sameInterval(a: Interval, b: Interval): boolean {
  return a.interval === b.interval && a.interval_count === b.interval_count;
}
