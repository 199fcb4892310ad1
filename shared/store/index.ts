/**
 * The store: typed calls to the billing SQL functions, over whichever client is configured
 * (DATABASE_URL: a SQL driver; SUPABASE_URL: supabase-js). One client per warm process.
 */
import { ConfigError, type Config } from '../config.ts';
import { openAtFirstRequest, parkConnection } from '../preconnect.ts';
import type { Rpc } from './rpc.ts';
import { createSqlRpc } from './rpc-sql.ts';
import { createSupabaseRpc } from './rpc-supabase.ts';
import type { AccountView, CustomerLink, EventRecord, SubscriptionSnapshot } from './types.ts';
import type { UsageAlertDue, UsageBatch, UsageRecordInput, UsageRecordOptions, UsageRecordResult, UsageRelease, UsageOverview, UsageTotals } from './types.ts';

export * from './types.ts';

export class Store {
  constructor(readonly rpc: Rpc) {}

  getAccount(accountId: string): Promise<AccountView> {
    return this.rpc.call('billing_get_account', { account_id: accountId });
  }

  /**
   * Links a customer to an account once; returns the account's stored customer id (the
   * first one linked), or null when the customer already belongs to another account.
   */
  async linkCustomer(link: CustomerLink): Promise<string | null> {
    const r = await this.rpc.call<{ customer_id: string | null }>('billing_link_customer', { ...link });
    return r.customer_id;
  }

  /** Applies one event (or, with `event: null`, a repair) in one transaction. */
  applyEvent(input: {
    event: EventRecord | null;
    link?: CustomerLink | null;
    subscriptions?: SubscriptionSnapshot[];
  }): Promise<{ duplicate: boolean; applied: number }> {
    return this.rpc.call('billing_apply_event', {
      event: input.event,
      link: input.link ?? null,
      subscriptions: input.subscriptions ?? [],
    });
  }

  /**
   * Known customers in id order: after `after`, through `through` (inclusive), at most
   * `limit`; all of them without bounds.
   */
  listCustomers(page: { after?: string | null; through?: string | null; limit?: number } = {}): Promise<Array<{ customer_id: string; account_id: string | null }>> {
    return this.rpc.call('billing_list_customers', { ...page });
  }

  /** The last customer the reconcile reached (null before its first run). */
  async reconcilePosition(): Promise<string | null> {
    return (await this.rpc.call<{ customer_id: string | null }>('billing_reconcile_position', {})).customer_id;
  }

  /** Keeps `customerId` as the last customer reconciled: the next run starts after it. */
  async reconcileAdvance(customerId: string): Promise<void> {
    await this.rpc.call('billing_reconcile_advance', { customer_id: customerId });
  }

  close(): Promise<void> {
    return this.rpc.close();
  }

  /** Opens the database connection now (a cold instance's first request), for the first call. */
  preconnect(): void {
    this.rpc.preconnect?.();
  }

  /**
   * Records usage in one transaction: a key seen before is a duplicate; with `limits`, what
   * does not fit a hard limit of the account's plan in its period is refused, and crossing
   * 80 % or 100 % of a limit writes an alert.
   */
  recordUsage(records: UsageRecordInput[], options: UsageRecordOptions = { metered_feature: 'events', limits: null, grace_days: 0 }): Promise<UsageRecordResult> {
    return this.rpc.call('billing_usage_record', { records, ...options });
  }

  /** Leases report batches to the caller: expired leases first, then new batches from unclaimed usage. */
  claimUsage(input: { lease_seconds: number; max_batches: number; window_seconds: number }): Promise<UsageBatch[]> {
    return this.rpc.call('billing_usage_claim', { ...input });
  }

  /** Stripe has these batches' meter events. */
  async markUsageReported(ids: number[]): Promise<number> {
    const r = await this.rpc.call<{ reported: number }>('billing_usage_mark_reported', { ids });
    return r.reported;
  }

  /** Gives back batches leased with `token` that were not reported. */
  async releaseUsage(token: string, batches: UsageRelease[]): Promise<number> {
    const r = await this.rpc.call<{ released: number }>('billing_usage_release', { token, batches });
    return r.released;
  }

  /** Records the account's one trial if it has none; answers the subscription that holds it. */
  async claimTrial(input: { account_id: string; subscription_id: string; started_at: string }): Promise<string> {
    const r = await this.rpc.call<{ subscription_id: string }>('billing_trial_claim', { ...input });
    return r.subscription_id;
  }

  /** Takes the account's plan-change lock for `seconds` unless another holder has it (false). */
  async lockChange(input: { account_id: string; token: string; seconds: number }): Promise<boolean> {
    return (await this.rpc.call<{ locked: boolean }>('billing_change_lock', { ...input })).locked;
  }

  async unlockChange(input: { account_id: string; token: string }): Promise<void> {
    await this.rpc.call('billing_change_unlock', { ...input });
  }

  /** Leases due, undelivered usage alerts to the caller (each lease counts as an attempt). */
  claimUsageAlerts(input: { limit: number; lease_seconds: number }): Promise<UsageAlertDue[]> {
    return this.rpc.call('billing_usage_alerts_claim', { ...input });
  }

  /** Ends a leased alert's attempt: delivered, or due again in `retry_seconds`. False when the lease was lost. */
  async finishUsageAlert(input: { id: number; lease_token: string; delivered: boolean; error?: string; retry_seconds?: number }): Promise<boolean> {
    const r = await this.rpc.call<{ finished: number }>('billing_usage_alert_finish', { ...input });
    return r.finished === 1;
  }

  /** Puts failed batches back to pending, identifiers unchanged. */
  async retryFailedUsage(): Promise<number> {
    const r = await this.rpc.call<{ retried: number }>('billing_usage_retry_failed', {});
    return r.retried;
  }

  /** The ledger for usage that occurred in [start, end). */
  usageTotals(accountId: string, start: string, end: string): Promise<UsageTotals> {
    return this.rpc.call('billing_usage_totals', { account_id: accountId, start, end });
  }

  usageOverview(accountId: string, month: { start: string; end: string }): Promise<UsageOverview> {
    return this.rpc.call('billing_usage_overview', { account_id: accountId, month_start: month.start, month_end: month.end });
  }
}

function lazyRpc(load: () => Promise<Rpc>, preconnect?: () => void): Rpc {
  let rpc: Promise<Rpc> | undefined;
  return {
    call: async (fn, p) => (await (rpc ??= load())).call(fn, p),
    close: async () => (rpc ? (await rpc).close() : undefined),
    ...(preconnect ? { preconnect } : {}),
  };
}

let cached: { key: string; store: Store } | undefined;

export function createStore(cfg: Config, fetchImpl?: typeof fetch): Store {
  if (cfg.DATABASE_URL) return new Store(createSqlRpc(cfg.DATABASE_URL, { max: cfg.DATABASE_POOL_MAX }));
  const { SUPABASE_URL: url, SUPABASE_SERVICE_ROLE_KEY: key } = cfg;
  if (url && key) {
    // Its connection opens before supabase-js loads (with our own fetch only: shared/node-fetch.ts).
    return new Store(lazyRpc(() => createSupabaseRpc(url, key, fetchImpl), fetchImpl ? undefined : () => parkConnection(url)));
  }
  throw new ConfigError('DATABASE_URL', 'or SUPABASE_URL is required');
}

// A cold instance's first request opens the database connection at its start, beside the others.
openAtFirstRequest((cfg) => getStore(cfg).preconnect());

/** The process's store, kept across invocations of a warm function. */
export function getStore(cfg: Config): Store {
  const key = `${cfg.DATABASE_URL ?? ''}|${cfg.SUPABASE_URL ?? ''}`;
  if (cached?.key !== key) {
    void cached?.store.close().catch(() => undefined);
    cached = { key, store: createStore(cfg) };
  }
  return cached.store;
}
