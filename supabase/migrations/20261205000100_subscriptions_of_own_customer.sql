-- An account never gains a subscription whose customer is not its own.
--
-- A subscription row names its account from Stripe metadata (account_id), which the webhook
-- keeps only when the subscription's customer was created by our checkout for that account
-- (shared/subscription-snapshot.ts). As a second line, once an account is linked to its
-- customer, only that customer's subscriptions count for it: a row that names the account
-- but belongs to another customer (older rows, or metadata set outside our checkout) is not
-- the account's. Before the link exists (an early event), the metadata still counts.
--
-- Still `language sql` with no SET clause and schema-qualified names, so the planner
-- inlines it into billing_get_account and the usage reads (see 20261121000500).

create or replace function billing_subscriptions_of(p_account_id text)
returns setof public.billing_subscriptions language sql stable as $$
  select s.* from public.billing_subscriptions s
  where s.customer_id = (select a.stripe_customer_id from public.billing_accounts a where a.id = p_account_id)
     or (s.account_id = p_account_id
         and not exists (select 1 from public.billing_accounts a
                         where a.id = p_account_id and a.stripe_customer_id is not null));
$$;

select billing_restrict_functions();
