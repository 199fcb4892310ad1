/**
 * Repair: for every customer we know, list all of its subscriptions from Stripe and store
 * them. Fixes whatever missed or failed webhooks left wrong; safe to run at any time
 * (snapshots go through the same "newer wins" rule as webhooks).
 */
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { Store } from './store/index.ts';
import { fetchCustomerSnapshots } from './subscription-snapshot.ts';

export interface ReconcileReport {
  customers: number;
  subscriptions: number;
  changed: Array<{ customerId: string; accountId: string | null; changed: number; statuses: string[] }>;
  failed: Array<{ customerId: string; error: string }>;
}

export async function reconcile(cfg: Config, store: Store, log: Logger): Promise<ReconcileReport> {
  const report: ReconcileReport = { customers: 0, subscriptions: 0, changed: [], failed: [] };
  for (const { customer_id: customerId, account_id: accountId } of await store.listCustomers()) {
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
  return report;
}
