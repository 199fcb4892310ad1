/**
 * Repair: for every customer we know, list all of its subscriptions from Stripe and store
 * them. Fixes whatever missed or failed webhooks left wrong; safe to run at any time
 * (snapshots go through the same "newer wins" rule as webhooks).
 *
 * A run may have less time than all customers take (Netlify stops a scheduled function
 * after 30 s): it starts no customer once its time budget is spent, and keeps in the
 * database the last customer it reached, so the next run goes on from there and wraps
 * around. Every customer is reached within a few runs, not only those early in the order.
 */
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { Store } from './store/index.ts';
import { fetchCustomerSnapshots } from './subscription-snapshot.ts';

export interface ReconcileOptions {
  /** No customer is started after this many ms (the first always is, so every run moves on). */
  timeBudgetMs: number;
  /** Customers read from the database at a time. */
  pageSize: number;
}

export interface ReconcileReport {
  /** Customers reconciled in this run. */
  customers: number;
  subscriptions: number;
  changed: Array<{ customerId: string; accountId: string | null; changed: number; statuses: string[] }>;
  failed: Array<{ customerId: string; error: string }>;
  /** Whether every known customer was reached; false when the time budget ran out first. */
  complete: boolean;
}

const DEFAULTS: ReconcileOptions = { timeBudgetMs: Infinity, pageSize: 100 };

export async function reconcile(cfg: Config, store: Store, log: Logger, options: Partial<ReconcileOptions> = {}): Promise<ReconcileReport> {
  const { timeBudgetMs, pageSize } = { ...DEFAULTS, ...options };
  const deadline = Date.now() + timeBudgetMs;
  const report: ReconcileReport = { customers: 0, subscriptions: 0, changed: [], failed: [], complete: false };
  // One lap: the customers after where the last run stopped, then from the first up to it.
  const resumeAfter = await store.reconcilePosition();
  const laps = resumeAfter === null ? [{ after: null, through: null }] : [{ after: resumeAfter, through: null }, { after: null, through: resumeAfter }];
  for (const lap of laps) {
    let after = lap.after;
    for (;;) {
      const page = await store.listCustomers({ after, through: lap.through, limit: pageSize });
      for (const { customer_id: customerId, account_id: accountId } of page) {
        if (report.customers > 0 && Date.now() >= deadline) return report;
        await reconcileCustomer(cfg, store, log, report, customerId, accountId);
        await store.reconcileAdvance(customerId);
      }
      if (page.length < pageSize) break;
      after = page[page.length - 1]!.customer_id;
    }
  }
  report.complete = true;
  return report;
}

async function reconcileCustomer(cfg: Config, store: Store, log: Logger, report: ReconcileReport, customerId: string, accountId: string | null) {
  report.customers++;
  try {
    const snapshots = await fetchCustomerSnapshots(cfg, customerId);
    report.subscriptions += snapshots.length;
    const { applied } = await store.applyEvent({ event: null, subscriptions: snapshots });
    if (applied > 0) {
      report.changed.push({ customerId, accountId, changed: applied, statuses: snapshots.map((s) => `${s.id}:${s.status}`) });
      log.info('reconcile_changed', { customerId, accountId, changed: applied });
    }
  } catch (err) {
    // One customer's failure must not stop the others; the run reports it.
    const error = err instanceof Error ? err.name : 'error';
    report.failed.push({ customerId, error });
    log.warn('reconcile_failed', { customerId, error });
  }
}
