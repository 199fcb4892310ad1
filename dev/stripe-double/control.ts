/**
 * /_double/...: the actions, the clock, the webhook target and faults over HTTP with
 * JSON bodies, so a dev page (or curl) can drive the double. No authentication: the
 * double listens on 127.0.0.1 only.
 */
import type { DoubleActions } from './actions.ts';
import type { Clock } from './clock.ts';
import { ApiError } from './errors.ts';
import type { EventBus } from './events.ts';
import type { Faults, FaultSpec } from './faults.ts';
import type { DoubleState } from './store.ts';

export interface ControlDeps {
  actions: DoubleActions;
  clock: Clock;
  bus: EventBus;
  faults: Faults;
  state: DoubleState;
  requestLog: readonly object[];
  setWebhook(target: { url: string; secret: string } | null): void;
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

type Body = Record<string, unknown>;

class BadInput extends Error {}

function bool(body: Body, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new BadInput(`${key} must be a boolean`);
  return v;
}

function num(body: Body, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadInput(`${key} must be a number`);
  return v;
}

function text(body: Body, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new BadInput(`${key} must be a string`);
  return v;
}

const FAULT_STATUSES = [500, 429, 503, 402, 400] as const;

function faultFrom(body: Body): FaultSpec {
  const status = num(body, 'status');
  const known = FAULT_STATUSES.find((s) => s === status);
  if (known === undefined) throw new BadInput(`status must be one of ${FAULT_STATUSES.join(', ')}`);
  const spec: FaultSpec = { status: known };
  const method = text(body, 'method');
  const path = text(body, 'path');
  const times = num(body, 'times');
  const delayMs = num(body, 'delayMs');
  const reset = bool(body, 'reset');
  if (method !== undefined) spec.method = method;
  if (path !== undefined) spec.path = new RegExp(path);
  if (times !== undefined) spec.times = times;
  if (delayMs !== undefined) spec.delayMs = delayMs;
  if (reset !== undefined) spec.reset = reset;
  return spec;
}

export async function handleControl(deps: ControlDeps, method: string, path: string, rawBody: string): Promise<ControlResponse> {
  let body: Body = {};
  try {
    if (rawBody.trim()) {
      const parsed: unknown = JSON.parse(rawBody);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Body;
      else if (parsed !== null) throw new BadInput('body must be a JSON object');
    }
    return await route(deps, method, path, body);
  } catch (err) {
    if (err instanceof ApiError) return { status: err.status, body: { error: err.body } };
    if (err instanceof BadInput || err instanceof SyntaxError) return { status: 400, body: { error: { message: err.message } } };
    throw err;
  }
}

async function route(deps: ControlDeps, method: string, path: string, body: Body): Promise<ControlResponse> {
  const { actions } = deps;
  const ok = (value: unknown): ControlResponse => ({ status: 200, body: value });
  const deliver = bool(body, 'deliver');
  const opts = deliver === undefined ? {} : { deliver };
  const m = (pattern: RegExp): string | undefined => {
    const found = pattern.exec(path);
    return found ? decodeURIComponent(found[1] ?? '') : undefined;
  };
  let id: string | undefined;

  if (method === 'GET' && (path === '/_double' || path === '/_double/')) {
    return ok({
      now: deps.clock.now(),
      webhook: deps.bus.getTarget()?.url ?? null,
      counts: {
        customers: deps.state.customers.size,
        subscriptions: deps.state.subscriptions.size,
        invoices: deps.state.invoices.size,
        sessions: deps.state.sessions.size,
        meterEvents: deps.state.meterEvents.length,
        events: deps.state.events.length,
      },
    });
  }
  if (method === 'GET' && path === '/_double/state') {
    return ok({
      customers: [...deps.state.customers.values()],
      subscriptions: [...deps.state.subscriptions.values()],
      invoices: [...deps.state.invoices.values()],
      sessions: [...deps.state.sessions.values()],
      meterEvents: deps.state.meterEvents,
    });
  }
  if (method === 'GET' && path === '/_double/events') return ok(deps.state.events);
  if (method === 'GET' && path === '/_double/requests') return ok(deps.requestLog);
  if (method === 'GET' && path === '/_double/deliveries') return ok(deps.bus.deliveries);
  if (method === 'GET' && path === '/_double/clock') return ok({ now: deps.clock.now() });
  if (method === 'POST' && path === '/_double/clock/advance') {
    const seconds = num(body, 'seconds');
    if (seconds === undefined || seconds < 0) throw new BadInput('seconds must be a non-negative number');
    deps.clock.advance(seconds);
    return ok({ now: deps.clock.now() });
  }
  if (method === 'POST' && path === '/_double/webhook') {
    const url = text(body, 'url');
    const secret = text(body, 'secret');
    if ((url === undefined) !== (secret === undefined)) throw new BadInput('give both url and secret, or neither to stop delivering');
    deps.setWebhook(url !== undefined && secret !== undefined ? { url, secret } : null);
    return ok({ webhook: url ?? null });
  }
  if (method === 'POST' && path === '/_double/faults') {
    deps.faults.inject(faultFrom(body));
    return ok({ pending: deps.faults.pending });
  }
  if (method === 'DELETE' && path === '/_double/faults') {
    deps.faults.clear();
    return ok({ pending: 0 });
  }
  if (method !== 'POST') return { status: 404, body: { error: { message: `No control endpoint ${method} ${path}` } } };

  if ((id = m(/^\/_double\/checkout\/sessions\/([^/]+)\/complete$/))) {
    const trialDays = num(body, 'trialDays');
    const paymentFails = bool(body, 'paymentFails');
    const email = text(body, 'email');
    return ok(
      await actions.completeCheckout(id, {
        ...opts,
        ...(trialDays !== undefined ? { trialDays } : {}),
        ...(paymentFails !== undefined ? { paymentFails } : {}),
        ...(email !== undefined ? { email } : {}),
      }),
    );
  }
  if ((id = m(/^\/_double\/checkout\/sessions\/([^/]+)\/expire$/))) return ok(await actions.expireCheckout(id, opts));
  if ((id = m(/^\/_double\/subscriptions\/([^/]+)\/renew$/))) {
    return ok(await actions.renewPeriod(id, { ...opts, paymentFails: bool(body, 'paymentFails') ?? false }));
  }
  if ((id = m(/^\/_double\/subscriptions\/([^/]+)\/schedule-cancel$/))) {
    return ok(await actions.scheduleCancel(id, bool(body, 'atPeriodEnd') ?? true, opts));
  }
  if ((id = m(/^\/_double\/subscriptions\/([^/]+)\/cancel$/))) return ok(await actions.cancelNow(id, opts));
  if ((id = m(/^\/_double\/subscriptions\/([^/]+)\/trial-will-end$/))) return ok(await actions.trialWillEnd(id, opts));
  if ((id = m(/^\/_double\/subscriptions\/([^/]+)\/pause$/))) return ok(await actions.pause(id, opts));
  if ((id = m(/^\/_double\/subscriptions\/([^/]+)\/resume$/))) return ok(await actions.resume(id, opts));
  if ((id = m(/^\/_double\/invoices\/([^/]+)\/pay$/))) return ok(await actions.payInvoice(id, opts));
  if ((id = m(/^\/_double\/invoices\/([^/]+)\/fail$/))) return ok(await actions.failInvoice(id, opts));
  if ((id = m(/^\/_double\/invoices\/([^/]+)\/void$/))) return ok(await actions.voidInvoice(id, opts));
  if ((id = m(/^\/_double\/customers\/([^/]+)\/next-payment-fails$/))) return ok(await actions.nextPaymentFails(id));
  if ((id = m(/^\/_double\/events\/([^/]+)\/deliver$/))) {
    const event = deps.state.events.find((e) => e.id === id);
    if (!event) return { status: 404, body: { error: { message: `No such event: '${id}'` } } };
    const timestamp = num(body, 'timestamp');
    return ok(await deps.bus.deliver(event, timestamp !== undefined ? { timestamp } : {}));
  }
  return { status: 404, body: { error: { message: `No control endpoint ${method} ${path}` } } };
}
