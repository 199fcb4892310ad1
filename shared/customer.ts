/**
 * One Stripe customer per billing account, created once and stored. Concurrent first
 * requests for one account send the same Stripe idempotency key, so Stripe creates one
 * customer and answers both with it; the database keeps the first link either way.
 */
import type { Principal } from './auth.ts';
import type { Config } from './config.ts';
import type { Store } from './store/index.ts';
import { idempotencyKey, stripeClient } from './stripe.ts';

export async function ensureCustomer(cfg: Config, store: Store, p: Principal, stored: string | null): Promise<string> {
  if (stored) return stored;
  const customer = await stripeClient(cfg).customers.create(
    {
      ...(p.accountKind === 'user' && p.email ? { email: p.email } : {}),
      // Only what is the same for every member of the account: the idempotency key is per
      // account, and Stripe refuses a replay of a key with different parameters.
      metadata: { account_id: p.accountId, ...(p.orgId ? { org_id: p.orgId } : {}) },
    },
    { idempotencyKey: idempotencyKey('customer', p.accountId) },
  );
  const linked = await store.linkCustomer({ account_id: p.accountId, kind: p.accountKind, customer_id: customer.id });
  // Null only if this brand-new customer were already another account's: never expected.
  if (!linked) throw new Error('new Stripe customer is linked to another account');
  return linked;
}
