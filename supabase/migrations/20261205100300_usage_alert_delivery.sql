-- Delivering usage alerts (billing_usage_alerts, the outbox) to the app's URL: a sender
-- claims due alerts with a lease (skip locked: concurrent senders take different ones), sends
-- each, and finishes it: delivered, or back with a later attempt. A sender that dies leaves
-- its lease to expire, and the alert goes out again; the receiver dedupes by the alert id.

alter table billing_usage_alerts add column if not exists lease_token uuid;

-- { limit, lease_seconds } -> [{ id, account_id, feature, period_start, period_end, threshold,
-- used, limit, created_at, attempts, lease_token }]: due, undelivered alerts, oldest first,
-- each counted as an attempt and leased to the caller.
create or replace function billing_usage_alerts_claim(p jsonb)
returns jsonb language sql set search_path = public as $$
  with due as (
    select id from billing_usage_alerts
    where delivered_at is null and next_attempt_at <= now() and (lease_until is null or lease_until < now())
    order by id
    limit greatest(1, coalesce((p->>'limit')::integer, 20))
    for update skip locked
  ), leased as (
    update billing_usage_alerts a
    set lease_until = now() + make_interval(secs => coalesce((p->>'lease_seconds')::integer, 60)),
        lease_token = gen_random_uuid(), attempts = a.attempts + 1
    from due where a.id = due.id
    returning a.*
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', id, 'account_id', account_id, 'feature', feature, 'period_start', period_start,
           'period_end', period_end, 'threshold', threshold, 'used', used, 'limit', "limit",
           'created_at', created_at, 'attempts', attempts, 'lease_token', lease_token) order by id), '[]'::jsonb)
  from leased
$$;

-- { id, lease_token, delivered, error?, retry_seconds? } -> { finished }: only the sender
-- holding the lease may finish an alert (a late sender whose lease expired changes nothing).
create or replace function billing_usage_alert_finish(p jsonb)
returns jsonb language sql set search_path = public as $$
  with done as (
    update billing_usage_alerts
    set delivered_at = case when (p->>'delivered')::boolean then now() end,
        next_attempt_at = case when (p->>'delivered')::boolean then next_attempt_at
                               else now() + make_interval(secs => coalesce((p->>'retry_seconds')::integer, 60)) end,
        last_error = left(p->>'error', 500),
        lease_until = null, lease_token = null
    where id = (p->>'id')::bigint and lease_token = (p->>'lease_token')::uuid and delivered_at is null
    returning id
  )
  select jsonb_build_object('finished', (select count(*) from done))
$$;

select billing_restrict_functions();
