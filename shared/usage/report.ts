/**
 * The usage reporter: claims report batches (one per customer and window), sends each to
 * Stripe as one meter event, and marks it reported only after Stripe accepted it.
 *
 * Exactly once, end to end: a record is in one batch (claims are serialized in SQL); a
 * batch keeps its identifier for life, so re-sending it after a crash, a timeout or a
 * lost answer is deduplicated by Stripe; and the ledger says "reported" only after Stripe
 * said yes. While Stripe is down, batches stay pending and are offered again later.
 */
import type { Logger } from '../log.ts';
import type { Store, UsageBatch, UsageRelease } from '../store/index.ts';
import type { Stripe } from '../stripe.ts';
import { sendBatch, type SendOutcome } from './meter-events.ts';

export interface ReportOptions {
  eventName: string;
  windowSeconds: number;
  leaseSeconds: number;
  /** Customers sent in parallel; one customer's events always go one at a time. */
  concurrency: number;
  maxBatchesPerClaim: number;
  /** Stop claiming after this long (a scheduled function has a time limit). */
  timeBudgetMs: number;
  /** Tries per batch within a run, and the first backoff between them. */
  attempts: number;
  retryBaseMs: number;
  /** A batch Stripe could not take is offered again after base * 2^(attempts-1) seconds, at most max. */
  releaseBackoffSeconds: number;
  maxReleaseBackoffSeconds: number;
  /** Consecutive transient failures after which the run stops (Stripe is down). */
  breakerThreshold: number;
  /** Meter event calls per second, all customers together, kept under Stripe's limit (meterEventPace). */
  maxCallsPerSecond: number;
}

export const DEFAULT_REPORT_OPTIONS = {
  maxBatchesPerClaim: 200,
  timeBudgetMs: 20_000,
  attempts: 3,
  retryBaseMs: 500,
  releaseBackoffSeconds: 30,
  maxReleaseBackoffSeconds: 900,
  breakerThreshold: 3,
} satisfies Partial<ReportOptions>;

export interface ReportResult {
  claimed: number;
  /** Accepted by Stripe now, or found already there (`duplicates`), and marked reported. */
  reported: number;
  duplicates: number;
  quantity: number;
  /** Left pending for a later run (Stripe unavailable, out of time). */
  deferred: number;
  /** Refused by Stripe for good; see `npm run usage:report -- --retry-failed`. */
  failed: number;
  stripeCalls: number;
  /** `off`: no meter is configured (STRIPE_METER_EVENT_NAME), so nothing was sent; usage stays pending. */
  stopped: 'done' | 'time_budget' | 'off' | 'stripe_unavailable' | 'stripe_config' | 'store_error';
  errors: string[];
}

export function emptyResult(): ReportResult {
  return { claimed: 0, reported: 0, duplicates: 0, quantity: 0, deferred: 0, failed: 0, stripeCalls: 0, stopped: 'done', errors: [] };
}

/** Running out of time or having no meter is normal (the next run goes on); anything else needs someone to look. */
export const reportHealthy = (r: Pick<ReportResult, 'stopped'>) => r.stopped === 'done' || r.stopped === 'time_budget' || r.stopped === 'off';

interface Run {
  store: Store;
  stripe: Stripe;
  log: Logger;
  opts: ReportOptions;
  deadline: number;
  result: ReportResult;
  consecutiveFailures: number;
  pace: () => Promise<void>;
}

/**
 * Lets calls go at least 1/perSecond s apart, whichever customer makes them: each waits for
 * the one before and is timed from when that one actually went (a late timer never bunches
 * calls), so no second holds more than perSecond of them.
 */
export function pacer(perSecond: number): () => Promise<void> {
  const gapMs = 1000 / perSecond;
  let lastAt = -Infinity;
  let queue = Promise.resolve();
  return () => {
    queue = queue.then(async () => {
      const wait = lastAt + gapMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      lastAt = performance.now();
    });
    return queue;
  };
}

/** A claimed batch and the local time its lease runs out (a little early, to be safe). */
type Leased = UsageBatch & { leaseDeadline: number };

function releaseFor(batch: UsageBatch, outcome: SendOutcome | null, opts: ReportOptions): UsageRelease {
  if (outcome?.kind === 'permanent') return { id: batch.id, error: outcome.error, retry_in_seconds: null };
  const error = outcome && 'error' in outcome ? outcome.error : 'not sent in this run';
  if (!outcome) return { id: batch.id, error, retry_in_seconds: 0 };
  const delay = Math.min(opts.maxReleaseBackoffSeconds, opts.releaseBackoffSeconds * 2 ** Math.max(0, batch.attempts - 1));
  return { id: batch.id, error, retry_in_seconds: delay };
}

function halted(run: Run): boolean {
  return run.result.stopped !== 'done' || Date.now() >= run.deadline;
}

/** One customer's batches, in order, one call at a time (Stripe: one concurrent call per customer per meter). */
async function reportCustomer(run: Run, batches: Leased[], token: string): Promise<void> {
  const { result, opts, log } = run;
  const delivered: Leased[] = [];
  const releases: UsageRelease[] = [];
  for (const batch of batches) {
    // Past its lease, another reporter may be re-sending it: leave it to them.
    if (Date.now() >= batch.leaseDeadline) continue;
    if (halted(run)) {
      releases.push(releaseFor(batch, null, opts));
      continue;
    }
    const outcome = await sendBatch(run.stripe, batch, {
      eventName: opts.eventName,
      attempts: opts.attempts,
      retryBaseMs: opts.retryBaseMs,
      onCall: () => void result.stripeCalls++,
      pace: run.pace,
    });
    if (outcome.kind === 'accepted' || outcome.kind === 'duplicate') {
      run.consecutiveFailures = 0;
      if (outcome.kind === 'duplicate') result.duplicates++;
      delivered.push(batch);
      continue;
    }
    releases.push(releaseFor(batch, outcome, opts));
    if (outcome.kind === 'permanent') {
      log.warn('usage_batch_refused', { identifier: batch.identifier, error: outcome.error });
    } else if (outcome.kind === 'config') {
      if (result.stopped === 'done') result.stopped = 'stripe_config';
      result.errors.push(outcome.error);
    } else if (++run.consecutiveFailures >= opts.breakerThreshold && result.stopped === 'done') {
      result.stopped = 'stripe_unavailable';
      result.errors.push(outcome.error);
    }
  }
  try {
    if (delivered.length) {
      await run.store.markUsageReported(delivered.map((b) => b.id));
      result.reported += delivered.length;
      result.quantity += delivered.reduce((sum, b) => sum + b.quantity, 0);
    }
  } catch (err) {
    // Stripe has them but our ledger does not say so: they stay pending, and the re-send
    // after the lease expires is deduplicated by Stripe (same identifiers).
    result.stopped = 'store_error';
    result.errors.push(`marking reported failed: ${err instanceof Error ? err.message : String(err)}`);
    log.error('usage_mark_failed', { identifiers: delivered.map((b) => b.identifier) });
  }
  if (releases.length) {
    result.deferred += releases.filter((r) => r.retry_in_seconds !== null).length;
    result.failed += releases.filter((r) => r.retry_in_seconds === null).length;
    // Best effort: if this fails too, the lease simply runs out.
    await run.store.releaseUsage(token, releases).catch((err: unknown) => {
      result.errors.push(`release failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }
}

async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

export async function reportUsage(deps: { store: Store; stripe: Stripe; log: Logger }, options: ReportOptions): Promise<ReportResult> {
  const result = emptyResult();
  const run: Run = {
    ...deps,
    opts: options,
    deadline: Date.now() + options.timeBudgetMs,
    result,
    consecutiveFailures: 0,
    pace: pacer(options.maxCallsPerSecond),
  };
  for (;;) {
    if (halted(run)) {
      if (result.stopped === 'done') result.stopped = 'time_budget';
      break;
    }
    let claimed: UsageBatch[];
    try {
      claimed = await deps.store.claimUsage({
        lease_seconds: options.leaseSeconds,
        max_batches: options.maxBatchesPerClaim,
        window_seconds: options.windowSeconds,
      });
    } catch (err) {
      result.stopped = 'store_error';
      result.errors.push(`claim failed: ${err instanceof Error ? err.message : String(err)}`);
      break;
    }
    if (!claimed.length) break;
    result.claimed += claimed.length;
    const now = Date.now();
    const byCustomer = new Map<string, Leased[]>();
    for (const b of claimed) {
      const leased = { ...b, leaseDeadline: now + b.lease_ms_left - Math.min(5000, b.lease_ms_left / 10) };
      const list = byCustomer.get(b.customer_id);
      if (list) list.push(leased);
      else byCustomer.set(b.customer_id, [leased]);
    }
    await pool([...byCustomer.values()], options.concurrency, (batches) => reportCustomer(run, batches, claimed[0]!.lease_token));
    if (claimed.length < options.maxBatchesPerClaim) break;
  }
  deps.log.info('usage_report', { ...result, errors: result.errors.length });
  return result;
}
