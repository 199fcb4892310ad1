/** /v1/billing/meters, /v1/billing/meter_events (deduplicated by identifier), /v1/billing/meters/:id/event_summaries. */
import { aggregate, meterEventsIn } from '../billing/metering.ts';
import type { Ctx } from '../context.ts';
import { ApiError, errors } from '../errors.ts';
import { newId } from '../ids.ts';
import { buildMeterEvent, buildMeterEventSummary } from '../objects/metering.ts';
import { PAGINATION, parseParams, str, int, map } from '../params.ts';
import type { Router } from '../router.ts';
import { find } from '../store.ts';
import { listResponse, objectResponse, type ExpandParam, type ListParams } from './common.ts';

/** Stripe enforces identifier uniqueness over a rolling window of (at least) 24 hours. */
const DEDUP_WINDOW = 86_400;
const PAST_LIMIT = 35 * 86_400;
const FUTURE_LIMIT = 5 * 60;

interface MeterEventParams extends ExpandParam {
  event_name: string;
  payload: Record<string, string> | null;
  identifier?: string;
  timestamp?: number;
}

interface SummaryParams extends ListParams {
  customer: string;
  start_time: number;
  end_time: number;
  value_grouping_window?: 'hour' | 'day';
}

export function meteringRoutes(router: Router, ctx: Ctx): void {
  const { store, clock } = ctx;

  router.get('/v1/billing/meters', (req) => {
    const p = parseParams<ListParams & { status?: string }>(
      { ...PAGINATION, status: { t: 'string', enum: ['active', 'inactive'] } },
      req.input,
    );
    const items = store.meters.newestFirst().filter((m) => p.status === undefined || m.status === p.status);
    return listResponse(ctx, items, p, '/v1/billing/meters', 'billing.meter');
  });

  router.get('/v1/billing/meters/:id', (req) => {
    const p = parseParams<ExpandParam>({}, req.input);
    return objectResponse(ctx, find(store.meters, req.params.id ?? '', 'billing.meter'), p.expand);
  });

  router.post('/v1/billing/meter_events', (req) => {
    const p = parseParams<MeterEventParams>(
      { event_name: str, payload: map, identifier: { t: 'string' }, timestamp: int },
      req.input,
      ['event_name', 'payload'],
    );
    if (p.identifier !== undefined && p.identifier.length > 100) {
      throw errors.invalidParam('identifier', 'Invalid identifier: must be at most 100 characters long');
    }
    const now = clock.now();
    const timestamp = p.timestamp ?? now;
    if (timestamp < now - PAST_LIMIT || timestamp > now + FUTURE_LIMIT) {
      throw errors.invalidParam('timestamp', 'The timestamp must be within the past 35 calendar days or up to 5 minutes in the future.');
    }
    const identifier = p.identifier ?? newId.meterEventIdentifier();
    const duplicate = store.meterEvents.find((m) => m.event.identifier === identifier && m.receivedAt > now - DEDUP_WINDOW);
    if (duplicate) {
      // What Stripe answers for an identifier it has already accepted (and it marks it not retryable).
      throw new ApiError(
        400,
        { type: 'invalid_request_error', message: `An event already exists with identifier ${identifier}.`, param: 'identifier' },
        { headers: { 'Stripe-Should-Retry': 'false' } },
      );
    }
    // Stripe validates the payload (customer mapping, numeric value) asynchronously; so does the
    // double, by ignoring events it cannot attribute when it aggregates.
    const event = buildMeterEvent(now, { event_name: p.event_name, identifier, payload: p.payload ?? {}, timestamp });
    store.meterEvents.push({ event, receivedAt: now });
    return objectResponse(ctx, event, p.expand);
  });

  router.get('/v1/billing/meters/:id/event_summaries', (req) => {
    const p = parseParams<SummaryParams>(
      { ...PAGINATION, customer: str, start_time: int, end_time: int, value_grouping_window: { t: 'string', enum: ['hour', 'day'] } },
      req.input,
      ['customer', 'start_time', 'end_time'],
    );
    const meter = find(store.meters, req.params.id ?? '', 'billing.meter');
    const step = p.value_grouping_window === 'day' ? 86_400 : p.value_grouping_window === 'hour' ? 3_600 : 60;
    const unit = p.value_grouping_window === 'day' ? 'UTC day' : p.value_grouping_window === 'hour' ? 'hour' : 'minute';
    for (const key of ['start_time', 'end_time'] as const) {
      if (p[key] % step !== 0) throw errors.invalidParam(key, `${key} must be aligned with ${unit} boundaries.`);
    }
    if (p.end_time <= p.start_time) throw errors.invalidParam('end_time', 'end_time must be after start_time.');
    const windows: Array<{ start: number; end: number }> = [];
    if (p.value_grouping_window === undefined) {
      windows.push({ start: p.start_time, end: p.end_time });
    } else {
      for (let t = p.start_time; t < p.end_time; t += step) windows.push({ start: t, end: Math.min(t + step, p.end_time) });
    }
    const summaries = windows
      .map((w) => ({ w, events: meterEventsIn(store, meter, p.customer, w.start, w.end) }))
      // Grouped summaries cover the windows that have usage; an ungrouped one always comes back.
      .filter(({ events }) => p.value_grouping_window === undefined || events.length > 0)
      .map(({ w, events }) => buildMeterEventSummary({ meter: meter.id, customer: p.customer, start: w.start, end: w.end, value: aggregate(meter, events) }))
      .reverse();
    return listResponse(ctx, summaries, p, `/v1/billing/meters/${meter.id}/event_summaries`, 'billing.meter_event_summary');
  });
}
