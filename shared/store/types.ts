/** Rows as the billing SQL functions return them (to_jsonb of the tables). */
export interface AccountRow {
  id: string;
  kind: 'user' | 'organization';
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
  kind: 'user' | 'organization';
  customer_id: string;
}

export interface EventRecord {
  id: string;
  type: string;
  created: number;
  object_id: string | null;
  outcome: 'applied' | 'ignored';
}
