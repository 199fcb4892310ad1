import type { AccountKind } from '../account-id.ts';
import type { LimitInput } from '../catalogue.ts';

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
  /** What the subscription's schedule changes at its next phase (a downgrade at the period's end), or all null. */
  pending_price_id: string | null;
  pending_product_id: string | null;
  pending_quantity: number | null;
  pending_effective_at: string | null;
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
  /** The catalogue's feature key; null or absent: the metered feature (reported to Stripe's meter). */
  feature?: string | null;
}

/** What billing_usage_record needs of the catalogue to apply limits (shared/usage/limits.ts). */
export interface UsageLimitsParam {
  /** Stripe product id -> the plan's limits (feature -> limit). */
  products: Record<string, Record<string, LimitInput>>;
  /** The limits of accounts without a subscription granting access (the catalogue's plan without prices). */
  free: Record<string, LimitInput> | null;
}

export interface UsageRecordOptions {
  /** The metered feature's key, which records store as null. */
  metered_feature: string;
  /** null: no limits (no catalogue, or one without limits): recorded as before. */
  limits: UsageLimitsParam | null;
  /** PAST_DUE_GRACE_DAYS: a past-due subscription's plan applies for as long as it grants access. */
  grace_days: number;
}

export interface UsageRecordResult {
  accepted: number;
  /** Indexes (in the input) of records whose key was seen before. */
  duplicates: number[];
  /** Records refused by a hard limit (not recorded; their keys stay free). */
  refused: Array<{ index: number; feature: string }>;
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

/** The ledger for a period: the metered feature's usage, and the sum of each other feature's. */
export interface UsageTotals {
  recorded: number;
  reported: number;
  failed: number;
  records: number;
  /** Feature key -> usage in the period, for features other than the metered one. */
  features: Record<string, number>;
}

/** A billing_usage_alerts row as GET usage reads it. */
export interface UsageAlertRow {
  feature: string;
  threshold: 80 | 100;
  used: number;
  limit: number;
  period_start: string;
  period_end: string;
  created_at: string;
}

/** GET usage's one read: the account view, each subscription with its period's totals, the month's, and the alerts of running periods. */
export interface UsageOverview {
  account: AccountRow | null;
  subscriptions: Array<SubscriptionRow & { usage: UsageTotals }>;
  month: UsageTotals;
  alerts: UsageAlertRow[];
}

/** A usage alert leased to a sender for delivery (billing_usage_alerts_claim). */
export interface UsageAlertDue extends UsageAlertRow {
  id: number;
  account_id: string;
  attempts: number;
  lease_token: string;
}
