/**
 * One free trial per account, ever (migration 20261205100200_trials.sql). The webhook claims
 * the account's trial for the first subscription seen trialing; a later subscription of the
 * same account still in a trial has it ended at Stripe at once (it then bills, or fails to
 * without a card, as Stripe does). Runs before the event is recorded, so a failure is a 5xx
 * and Stripe's retry does it again; the Stripe call has an idempotency key.
 */
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import type { Store, SubscriptionSnapshot } from './store/index.ts';
import { idempotencyKey, stripeClient } from './stripe.ts';
import { fetchSnapshot } from './subscription-snapshot.ts';

export async function oneTrialPerAccount(cfg: Config, store: Store, log: Logger, s: SubscriptionSnapshot): Promise<SubscriptionSnapshot> {
  if (!s.trial_start || !s.account_id) return s;
  const holder = await store.claimTrial({ account_id: s.account_id, subscription_id: s.id, started_at: s.trial_start });
  if (holder === s.id || s.status !== 'trialing') return s;
  log.warn('second_trial_ended', { accountId: s.account_id, subscriptionId: s.id, trialHeldBy: holder });
  await stripeClient(cfg).subscriptions.update(s.id, { trial_end: 'now' }, { idempotencyKey: idempotencyKey('end-second-trial', s.id) });
  return fetchSnapshot(cfg, s.id);
}
