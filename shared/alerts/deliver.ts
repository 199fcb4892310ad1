/**
 * Sends usage alerts (billing_usage_alerts: written once, in the transaction that recorded the
 * usage crossing 80 % or 100 % of a limit) to ALERT_WEBHOOK_URL, signed (signature.ts). An
 * alert is leased to one sender, POSTed, and marked delivered on a 2xx; otherwise it is due
 * again later (backing off to an hour), never dropped. Without a URL it is logged and done.
 * Run after POST usage (when the platform lets work finish after the answer) and every
 * minute by the usage-alerts schedule, which retries what failed.
 */
import type { Config } from '../config.ts';
import { describeError, type Logger } from '../log.ts';
import { getStore, type UsageAlertDue } from '../store/index.ts';
import { SIGNATURE_HEADER, signAlert } from './signature.ts';

/** What the app receives. `id` is stable across re-sends: dedupe on it. */
export interface UsageAlertEvent {
  id: string;
  type: 'usage.threshold_reached';
  /** Unix seconds the threshold was reached. */
  created: number;
  data: { accountId: string; feature: string; threshold: 80 | 100; used: number; limit: number; periodStart: string; periodEnd: string };
}

export interface DeliveryOptions {
  /** Stop claiming after this long (a scheduled function has a time limit). */
  timeBudgetMs: number;
  /** Each POST's limit. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface DeliveryResult {
  delivered: number;
  failed: number;
}

const LEASE_SECONDS = 60;
const BATCH = 20;
/** 30 s, 1 min, 2 min, ... up to an hour. */
export const retryDelaySeconds = (attempts: number) => Math.min(3600, 30 * 2 ** Math.max(0, attempts - 1));

export function alertEvent(a: UsageAlertDue): UsageAlertEvent {
  return {
    id: `ua_${a.id}`,
    type: 'usage.threshold_reached',
    created: Math.floor(Date.parse(a.created_at) / 1000),
    data: {
      accountId: a.account_id,
      feature: a.feature,
      threshold: a.threshold,
      used: Number(a.used),
      limit: Number(a.limit),
      periodStart: new Date(a.period_start).toISOString(),
      periodEnd: new Date(a.period_end).toISOString(),
    },
  };
}

/** Sends one alert; resolves with what went wrong, or null when the app took it. */
async function send(cfg: Config, event: UsageAlertEvent, options: DeliveryOptions): Promise<string | null> {
  const body = JSON.stringify(event);
  try {
    const res = await (options.fetch ?? fetch)(cfg.ALERT_WEBHOOK_URL!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signAlert(body, cfg.ALERT_WEBHOOK_SECRET!) },
      body,
      signal: AbortSignal.timeout(options.timeoutMs),
      redirect: 'manual',
    });
    await res.body?.cancel();
    return res.ok ? null : `HTTP ${res.status}`;
  } catch (err) {
    // fetch's "fetch failed" names the reason in its cause (ECONNREFUSED...); a timeout is TimeoutError.
    const cause = (err as { cause?: unknown }).cause;
    const d = describeError(cause instanceof Error ? cause : err);
    return String(d.errorCode ?? d.errorType);
  }
}

export async function deliverUsageAlerts(cfg: Config, log: Logger, options: DeliveryOptions): Promise<DeliveryResult> {
  const store = getStore(cfg);
  const stopAt = Date.now() + options.timeBudgetMs;
  const result: DeliveryResult = { delivered: 0, failed: 0 };
  while (Date.now() < stopAt) {
    const due = await store.claimUsageAlerts({ limit: BATCH, lease_seconds: LEASE_SECONDS });
    if (due.length === 0) break;
    await Promise.all(due.map(async (alert) => {
      const event = alertEvent(alert);
      const problem = cfg.ALERT_WEBHOOK_URL ? await send(cfg, event, options) : null;
      if (!cfg.ALERT_WEBHOOK_URL) log.info('usage_alert', { alertId: event.id, ...event.data, delivery: 'log only (no ALERT_WEBHOOK_URL)' });
      if (problem === null) {
        await store.finishUsageAlert({ id: alert.id, lease_token: alert.lease_token, delivered: true });
        result.delivered++;
      } else {
        const retrySeconds = retryDelaySeconds(alert.attempts);
        log.warn('usage_alert_failed', { alertId: event.id, attempts: alert.attempts, problem, retrySeconds });
        await store.finishUsageAlert({ id: alert.id, lease_token: alert.lease_token, delivered: false, error: problem, retry_seconds: retrySeconds });
        result.failed++;
      }
    }));
  }
  return result;
}

/** Never throws: for the platform's after-response work and the schedule, which log and go on. */
export async function deliverUsageAlertsSafely(cfg: Config, log: Logger, options: DeliveryOptions): Promise<DeliveryResult | null> {
  try {
    return await deliverUsageAlerts(cfg, log, options);
  } catch (err) {
    log.error('usage_alert_delivery_error', describeError(err));
    return null;
  }
}
