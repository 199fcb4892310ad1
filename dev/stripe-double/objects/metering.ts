import type Stripe from 'stripe';
import { fixture } from '../fixtures.ts';

export function buildMeterEvent(
  created: number,
  f: { event_name: string; identifier: string; payload: Record<string, string>; timestamp: number },
): Stripe.Billing.MeterEvent {
  const e = fixture('billing.meter_event');
  e.created = created;
  e.livemode = false;
  e.event_name = f.event_name;
  e.identifier = f.identifier;
  e.payload = { ...f.payload };
  e.timestamp = f.timestamp;
  return e;
}

export function buildMeterEventSummary(f: {
  meter: string;
  customer: string;
  start: number;
  end: number;
  value: number;
}): Stripe.Billing.MeterEventSummary {
  const s = fixture('billing.meter_event_summary');
  // Stable per (meter, customer, window), so list cursors work across calls.
  s.id = `mtrusg_test_${Buffer.from(`${f.meter}:${f.customer}:${f.start}:${f.end}`).toString('base64url')}`;
  s.livemode = false;
  s.meter = f.meter;
  s.start_time = f.start;
  s.end_time = f.end;
  s.aggregated_value = f.value;
  return s;
}
