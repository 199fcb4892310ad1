/** Meter aggregation: which events count for a customer in a window, and their value under the meter's formula. */
import type Stripe from 'stripe';
import type { Store } from '../store.ts';

export function meterEventsIn(store: Store, meter: Stripe.Billing.Meter, customer: string, start: number, end: number): Stripe.Billing.MeterEvent[] {
  const customerKey = meter.customer_mapping.event_payload_key;
  return store.meterEvents
    .map((m) => m.event)
    .filter((e) => e.event_name === meter.event_name && e.payload[customerKey] === customer && e.timestamp >= start && e.timestamp < end);
}

export function aggregate(meter: Stripe.Billing.Meter, events: Stripe.Billing.MeterEvent[]): number {
  const valueKey = meter.value_settings.event_payload_key;
  const values = events.map((e) => Number(e.payload[valueKey] ?? '0')).filter((v) => Number.isFinite(v));
  switch (meter.default_aggregation.formula) {
    case 'count':
      return events.length;
    case 'last': {
      const last = [...events].sort((a, b) => a.timestamp - b.timestamp).at(-1);
      return last ? Number(last.payload[valueKey] ?? '0') : 0;
    }
    default:
      return values.reduce((sum, v) => sum + v, 0);
  }
}

export function usage(store: Store, meterId: string, customer: string, start: number, end: number): number {
  const meter = store.meters.get(meterId);
  if (!meter) return 0;
  return aggregate(meter, meterEventsIn(store, meter, customer, start, end));
}
