import type { AccountKind } from '../account-id.ts';

/** Rows as the billing SQL functions return them (the tables' rows as JSON). */
export interface AccountRow {
  id: string;
  kind: AccountKind;
  stripe_customer_id: string | null;
  created_at: string;
  updated_at: string;
}

/** A subscription as we store it: everything needed to answer without calling Stripe. */
export interface SubscriptionSnapshot {
  id: string;
  customer_id: string;
  account_id: string | null;
  status: string;
  price_id: string | null;
  product_id: string | null;
  quantity: number | null;
  current_period_start: string | null;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
  cancel_at: string | null;
  canceled_at: string | null;
  ended_at: string | null;
  trial_start: string | null;
  trial_end: string | null;
  past_due_since: string | null;
  stripe_created: string;
  /** ms since epoch when the snapshot's read from Stripe began. */
  snapshot_at: number;
}

export interface SubscriptionRow extends SubscriptionSnapshot {
  updated_at: string;
}

export interface AccountView {
  account: AccountRow | null;
  subscriptions: SubscriptionRow[];
}

export interface CustomerLink {
  account_id: string;
  kind: AccountKind;
  customer_id: string;
}

export interface EventRecord {
  id: string;
  type: string;
  created: number;
  object_id: string | null;
  outcome: 'applied' | 'ignored';
}

/** One usage record as billing_usage_record takes it (validated before). */
export interface UsageRecordInput {
  account_id: string;
  key: string;
  quantity: number;
  /** ISO 8601. */
  occurred_at: string;
}

export interface UsageRecordResult {
  accepted: number;
  /** Indexes (in the input) of records whose key was seen before. */
  duplicates: number[];
}

/** A report batch leased to one reporter: one meter event for a customer and window. */
export interface UsageBatch {
  id: number;
  /** The meter event's identifier; the same on every re-send. */
  identifier: string;
  customer_id: string;
  account_id: string;
  window_start: string;
  seq: number;
  /** Unix seconds. */
  event_timestamp: number;
  quantity: number;
  records: number;
  attempts: number;
  lease_token: string;
  /** How long the lease has left, by the database's clock. */
  lease_ms_left: number;
}

/** A batch given back: retry after `retry_in_seconds`, or (null) failed for good. */
export interface UsageRelease {
  id: number;
  error: string;
  retry_in_seconds: number | null;
}

export interface UsageTotals {
  recorded: number;
  reported: number;
  failed: number;
  records: number;
}

/** GET usage's one read: the account view, each subscription with its period's totals, and the month's. */
export interface UsageOverview {
  account: AccountRow | null;
  subscriptions: Array<SubscriptionRow & { usage: UsageTotals }>;
  month: UsageTotals;
}
