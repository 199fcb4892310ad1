/**
 * The store: typed calls to the billing SQL functions, over whichever client is configured
 * (DATABASE_URL: a SQL driver; SUPABASE_URL: supabase-js). One client per warm process.
 */
import { ConfigError, type Config } from '../config.ts';
import type { Rpc } from './rpc.ts';
import { createSqlRpc } from './rpc-sql.ts';
import { createSupabaseRpc } from './rpc-supabase.ts';
import type { AccountView, CustomerLink, EventRecord, SubscriptionSnapshot } from './types.ts';

export * from './types.ts';

export class Store {
  constructor(readonly rpc: Rpc) {}

  getAccount(accountId: string): Promise<AccountView> {
    return this.rpc.call('billing_get_account', { account_id: accountId });
  }

  /** Links a customer to an account once; returns the customer id stored (the first one linked). */
  async linkCustomer(link: CustomerLink): Promise<string> {
    const r = await this.rpc.call<{ customer_id: string }>('billing_link_customer', { ...link });
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

  listCustomers(): Promise<Array<{ customer_id: string; account_id: string | null }>> {
    return this.rpc.call('billing_list_customers', {});
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}

let cached: { key: string; store: Store } | undefined;

export function createStore(cfg: Config, fetchImpl?: typeof fetch): Store {
  if (cfg.DATABASE_URL) return new Store(createSqlRpc(cfg.DATABASE_URL, { max: cfg.DATABASE_POOL_MAX }));
  if (cfg.SUPABASE_URL && cfg.SUPABASE_SERVICE_ROLE_KEY) {
    return new Store(createSupabaseRpc(cfg.SUPABASE_URL, cfg.SUPABASE_SERVICE_ROLE_KEY, fetchImpl));
  }
  throw new ConfigError('DATABASE_URL', 'or SUPABASE_URL is required');
}

/** The process's store, kept across invocations of a warm function. */
export function getStore(cfg: Config): Store {
  const key = `${cfg.DATABASE_URL ?? ''}|${cfg.SUPABASE_URL ?? ''}`;
  if (cached?.key !== key) {
    void cached?.store.close().catch(() => undefined);
    cached = { key, store: createStore(cfg) };
  }
  return cached.store;
}
