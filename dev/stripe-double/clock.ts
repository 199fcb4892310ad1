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
