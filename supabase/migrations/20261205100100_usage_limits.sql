-- Usage limits from the plan catalogue (catalogue.ts): usage records name a feature, a
-- feature's usage is counted per account and billing period, hard limits refuse what does
-- not fit, and crossing 80 % or 100 % of a limit writes an alert (billing_usage_alerts).
--
-- Why a counter row: POST usage must never admit more than a hard limit, whatever the
-- concurrency. Each batch locks the (account, feature, period) rows it needs, in one order,
-- before deciding; the lock also makes the alert that crosses a threshold exactly once. The
-- counter holds the ledger's sum for the period (it starts from the ledger when created, and
-- moves with every record admitted into the period while it is the current one; a late record
-- for an earlier period is not added to that period's counter, which nothing reads again), so
-- GET usage, which sums the ledger, and POST usage agree.
--
-- The catalogue lives in the code, not in the database: POST usage passes the limits as a
-- parameter ({ products: { <product id>: { <feature>: { limit, hard } } }, free: {...} | null }),
-- so recording stays one round trip.

-- Null: the metered feature (catalogue's meteredFeature), the one reported to Stripe's meter.
-- Every record before this migration was metered usage.
alter table billing_usage_records add column if not exists feature text;

-- The reporter claims metered records only; other features' records are never reported, so
-- they must not sit in the index of unclaimed records for ever.
drop index if exists billing_usage_records_unclaimed_idx;
create index if not exists billing_usage_records_unclaimed_idx on billing_usage_records (account_id)
  where batch_id is null and feature is null;

create table if not exists billing_usage_counters (
  account_id    text not null,
  feature       text not null,                 -- the catalogue's key (the metered feature by name)
  period_start  timestamptz not null,
  period_end    timestamptz not null,
  used          bigint not null,               -- usage that occurred in [period_start, period_end)
  updated_at    timestamptz not null default now(),
  primary key (account_id, feature, period_start, period_end)
);
alter table billing_usage_counters enable row level security;

-- The plan and the period usage limits apply to, decided as GET usage decides them in
-- TypeScript (shared/access.ts accessFor, shared/catalogue.ts planOfAccount,
-- shared/usage/period.ts usagePeriod); tests/usage/period-sql.test.ts holds the two to the
-- same answers. The account's best subscription (active > canceling > trialing > past due in
-- its grace days > ended; then the later access end; then the newest) gives the plan while
-- it grants access, and its current period; an ended period of a subscription that still
-- renews (active or past due) is rolled on as period.ts does; otherwise the calendar month.
create or replace function billing_usage_period(p_account_id text, p_now timestamptz, p_grace_days integer,
  out has_access boolean, out product_id text, out period_start timestamptz, out period_end timestamptz, out source text)
language plpgsql stable set search_path = public set timezone = 'UTC' as $$
declare
  b record;
  len interval;
  len_s numeric;
  months integer;
  anchor integer;
  tod interval;
  first_of timestamptz;
  dim integer;
  v_from timestamptz;
  v_to timestamptz;
  month_s constant numeric := 30.436875 * 86400;
begin
  select st.state, s.product_id, s.current_period_start as ps, s.current_period_end as pe into b
  from billing_subscriptions_of(p_account_id) s
  cross join lateral (select
      coalesce(s.status in ('active', 'trialing') and (s.cancel_at_period_end or s.cancel_at > p_now), false) as canceling,
      coalesce(s.past_due_since, s.current_period_start, s.stripe_created) + make_interval(secs => p_grace_days * 86400.0) as grace_until) c
  cross join lateral (select
      case when c.canceling then 'canceling'
           when s.status in ('active', 'trialing') then s.status
           when s.status = 'past_due' and c.grace_until > p_now then 'past_due'
           when s.status = 'incomplete' then 'none'
           else 'ended' end as state,
      case when c.canceling and s.status = 'active' then coalesce(s.cancel_at, s.current_period_end)
           when c.canceling then coalesce(s.cancel_at, s.trial_end, s.current_period_end)
           when s.status = 'active' then s.current_period_end
           when s.status = 'trialing' then coalesce(s.trial_end, s.current_period_end)
           when s.status = 'past_due' then c.grace_until
           when s.status = 'incomplete' then null
           else coalesce(s.ended_at, s.canceled_at) end as until) st
  order by case st.state when 'active' then 5 when 'canceling' then 4 when 'trialing' then 3
                         when 'past_due' then 2 when 'ended' then 1 else 0 end desc,
           coalesce(st.until, 'epoch') desc, s.stripe_created desc, s.id
  limit 1;

  has_access := found and b.state in ('active', 'canceling', 'trialing', 'past_due');
  if has_access then
    product_id := b.product_id;
    if b.ps <= p_now and p_now < b.pe then
      period_start := b.ps; period_end := b.pe; source := 'subscription';
      return;
    end if;
    -- Stripe's renewal has not reached us yet: the period it has most likely moved on to.
    if b.state in ('active', 'past_due') and b.ps < b.pe and b.pe <= p_now then
      len := b.pe - b.ps;
      len_s := extract(epoch from b.pe) - extract(epoch from b.ps);
      months := round(len_s / month_s);
      anchor := greatest(extract(day from b.ps), extract(day from b.pe));
      tod := b.pe - date_trunc('day', b.pe);
      v_from := b.pe;
      for n in 1..1000 loop
        if months < 1 or abs(len_s - months * month_s) > 3 * 86400 then
          v_to := b.pe + n * len;
        else
          -- Whole calendar months on the anchor day, clamped to shorter months.
          first_of := date_trunc('month', b.pe) + make_interval(months => n * months);
          dim := extract(day from first_of + interval '1 month' - interval '1 day');
          v_to := first_of + make_interval(days => least(anchor, dim) - 1) + tod;
        end if;
        if p_now < v_to then
          period_start := v_from; period_end := v_to; source := 'subscription_estimated';
          return;
        end if;
        v_from := v_to;
      end loop;
    end if;
  else
    has_access := false;
  end if;
  period_start := date_trunc('month', p_now);
  period_end := period_start + interval '1 month';
  source := 'calendar_month';
end $$;

-- { records: [{ account_id, key, quantity, occurred_at, feature }], metered_feature, limits, grace_days }
--   -> { accepted, duplicates: [index], refused: [{ index, feature }] }
-- `feature` null is the metered feature. Without `limits` (no catalogue limits) it records as
-- before. With them, for each account and limited feature in the batch (in one order, so
-- batches never deadlock) the counter of the account's current period is locked (created
-- from the ledger the first time); under those locks, the records new to the ledger that
-- occurred in the period are admitted in index order while they fit a hard limit, the rest
-- are refused (not recorded; their keys stay free); soft limits admit everything. Usage that
-- occurred outside the current period (late, or up to 5 minutes ahead at its end) is not
-- limited: it counts toward the period it occurred in. Then the counters move on by what was
-- inserted, and a counter at or past 80 % or 100 % of its limit writes that alert once.
-- A key seen before (or earlier in the batch) is a duplicate and changes nothing.
create or replace function billing_usage_record(p jsonb)
returns jsonb language plpgsql set search_path = public as $$
declare
  v_metered text := coalesce(p->>'metered_feature', 'events');
  v_limits jsonb := case when jsonb_typeof(p->'limits') = 'object' then p->'limits' end;
  v_grace integer := coalesce((p->>'grace_days')::integer, 7);
  g record;
  c record;
  v_used bigint;
  -- The locked counters, one entry per (account, feature) of the batch with a limit.
  g_account text[] := '{}';
  g_feature text[] := '{}';
  g_start timestamptz[] := '{}';
  g_end timestamptz[] := '{}';
  g_limit bigint[] := '{}';
  g_hard boolean[] := '{}';
  g_used bigint[] := '{}';
  g_left bigint[] := '{}';
  v_refused integer[] := '{}';
  v_answer jsonb;
begin
  if v_limits is not null then
    for g in
      with accounts as materialized (
        select distinct e->>'account_id' as account_id from jsonb_array_elements(p->'records') e
      ), plans as (
        select a.account_id, ap.period_start, ap.period_end,
               case when ap.has_access then v_limits->'products'->ap.product_id else v_limits->'free' end as limits
        from accounts a cross join lateral billing_usage_period(a.account_id, now(), v_grace) ap
      )
      select k.account_id, k.feature, pl.period_start, pl.period_end,
             (pl.limits->k.feature->>'limit')::bigint as lim, (pl.limits->k.feature->>'hard')::boolean as hard
      from (select distinct e->>'account_id' as account_id, coalesce(e->>'feature', v_metered) as feature
            from jsonb_array_elements(p->'records') e) k
      join plans pl on pl.account_id = k.account_id
      where jsonb_typeof(pl.limits->k.feature) = 'object'
      order by k.account_id, k.feature
    loop
      select u.used into v_used from billing_usage_counters u
      where u.account_id = g.account_id and u.feature = g.feature and u.period_start = g.period_start and u.period_end = g.period_end
      for update;
      if not found then
        insert into billing_usage_counters (account_id, feature, period_start, period_end, used)
        select g.account_id, g.feature, g.period_start, g.period_end, coalesce(sum(r.quantity), 0)
        from billing_usage_records r
        where r.account_id = g.account_id and r.occurred_at >= g.period_start and r.occurred_at < g.period_end
          and (case when g.feature = v_metered then r.feature is null else r.feature = g.feature end)
        on conflict do nothing
        returning used into v_used;
        if not found then
          -- Another batch created it meanwhile: wait for it, then take its count.
          select u.used into v_used from billing_usage_counters u
          where u.account_id = g.account_id and u.feature = g.feature and u.period_start = g.period_start and u.period_end = g.period_end
          for update;
        end if;
      end if;
      g_account := g_account || g.account_id;
      g_feature := g_feature || g.feature;
      g_start := g_start || g.period_start;
      g_end := g_end || g.period_end;
      g_limit := g_limit || g.lim;
      g_hard := g_hard || g.hard;
      g_used := g_used || v_used;
      g_left := g_left || greatest(g.lim - v_used, 0);
    end loop;

    -- Hard limits: records new to the ledger, in index order, while they fit.
    if true = any(g_hard) then
      for c in
        with input as (
          select (e.ord - 1)::integer as idx, e.r->>'account_id' as account_id, e.r->>'key' as key,
                 (e.r->>'quantity')::bigint as quantity, (e.r->>'occurred_at')::timestamptz as occurred_at,
                 coalesce(e.r->>'feature', v_metered) as feature
          from jsonb_array_elements(p->'records') with ordinality as e(r, ord)
        ), firsts as (
          select distinct on (account_id, key) * from input order by account_id, key, idx
        )
        select f.idx, f.quantity, gr.i
        from firsts f
        join unnest(g_account, g_feature, g_start, g_end, g_hard) with ordinality as gr(account_id, feature, ps, pe, hard, i)
          on gr.account_id = f.account_id and gr.feature = f.feature
        where gr.hard and f.occurred_at >= gr.ps and f.occurred_at < gr.pe
          and not exists (select 1 from billing_usage_records x where x.account_id = f.account_id and x.idempotency_key = f.key)
        order by f.idx
      loop
        if c.quantity <= g_left[c.i] then
          g_left[c.i] := g_left[c.i] - c.quantity;
        else
          v_refused := v_refused || c.idx;
        end if;
      end loop;
    end if;
  end if;

  with input as (
    select (e.ord - 1)::integer as idx, e.r->>'account_id' as account_id, e.r->>'key' as key,
           (e.r->>'quantity')::bigint as quantity, (e.r->>'occurred_at')::timestamptz as occurred_at,
           e.r->>'feature' as feature
    from jsonb_array_elements(p->'records') with ordinality as e(r, ord)
  ), keyed as (
    -- first: the index of the key's first record in the batch (later ones are duplicates of it)
    select i.*, min(i.idx) over (partition by i.account_id, i.key) as first from input i
  ), ins as (
    insert into billing_usage_records (account_id, idempotency_key, quantity, occurred_at, feature)
    select k.account_id, k.key, k.quantity, k.occurred_at, nullif(k.feature, v_metered)
    from keyed k
    where k.idx = k.first and k.idx <> all(v_refused)
    -- One order for every caller: batches that share keys wait for each other on the
    -- unique index instead of deadlocking (40P01) when they list the keys in other orders.
    order by k.account_id, k.key
    on conflict (account_id, idempotency_key) do nothing
    returning account_id, idempotency_key, quantity, occurred_at, coalesce(feature, v_metered) as feature
  ), groups as (
    select * from unnest(g_account, g_feature, g_start, g_end, g_limit, g_used) as gr(account_id, feature, ps, pe, lim, used)
  ), moved as (
    update billing_usage_counters u set used = u.used + s.q, updated_at = now()
    from (select gr.account_id, gr.feature, gr.ps, gr.pe, sum(ins.quantity) as q
          from groups gr join ins on ins.account_id = gr.account_id and ins.feature = gr.feature
                                  and ins.occurred_at >= gr.ps and ins.occurred_at < gr.pe
          group by 1, 2, 3, 4) s
    where u.account_id = s.account_id and u.feature = s.feature and u.period_start = s.ps and u.period_end = s.pe
    returning u.account_id, u.feature, u.period_start, u.used
  ), alerts as (
    -- The counter's lock makes the first batch at or past a threshold the one that writes it.
    insert into billing_usage_alerts (account_id, feature, period_start, period_end, threshold, used, "limit")
    select gr.account_id, gr.feature, gr.ps, gr.pe, t.threshold, coalesce(m.used, gr.used), gr.lim
    from groups gr
    left join moved m on m.account_id = gr.account_id and m.feature = gr.feature and m.period_start = gr.ps
    cross join (values (80), (100)) t(threshold)
    where coalesce(m.used, gr.used) > 0 and coalesce(m.used, gr.used) * 100 >= t.threshold * gr.lim
    on conflict (account_id, feature, period_start, threshold) do nothing
  )
  select jsonb_build_object(
    'accepted', (select count(*) from ins),
    -- A record refused, or repeating a refused record's key, is refused; any other record not
    -- inserted is a duplicate.
    'duplicates', coalesce((
      select jsonb_agg(k.idx order by k.idx) from keyed k
      where k.first <> all(v_refused)
        and not (k.idx = k.first and exists (select 1 from ins where ins.account_id = k.account_id and ins.idempotency_key = k.key))),
      '[]'::jsonb),
    'refused', coalesce((
      select jsonb_agg(jsonb_build_object('index', k.idx, 'feature', coalesce(k.feature, v_metered)) order by k.idx)
      from keyed k where k.first = any(v_refused)), '[]'::jsonb))
  into v_answer;
  return v_answer;
end $$;

-- { account_id, start, end } -> { recorded, reported, failed, records, features: { <feature>: sum } }:
-- the ledger for usage that occurred in [start, end). recorded/reported/failed/records are
-- the metered feature's (the usage Stripe's meter gets); `features` sums the others.
create or replace function billing_usage_totals(p jsonb)
returns jsonb language plpgsql stable set search_path = public as $$
declare
  v_account_id text := p->>'account_id';
  v_start timestamptz := (p->>'start')::timestamptz;
  v_end timestamptz := (p->>'end')::timestamptz;
begin
  return (
    with per as (
      select r.feature, sum(r.quantity) as recorded,
             sum(r.quantity) filter (where b.status = 'reported') as reported,
             sum(r.quantity) filter (where b.status = 'failed') as failed,
             count(*) as records
      from billing_usage_records r left join billing_usage_batches b on b.id = r.batch_id
      where r.account_id = v_account_id and r.occurred_at >= v_start and r.occurred_at < v_end
      group by r.feature
    ), metered as (select * from per where feature is null)
    select jsonb_build_object(
      'recorded', coalesce((select recorded from metered), 0),
      'reported', coalesce((select reported from metered), 0),
      'failed', coalesce((select failed from metered), 0),
      'records', coalesce((select records from metered), 0),
      'features', coalesce((select jsonb_object_agg(feature, recorded) from per where feature is not null), '{}'::jsonb)));
end $$;

-- { account_id, month_start, month_end } -> { account, subscriptions: [{..., usage}], month, alerts }
-- As before, plus the alerts of periods still running (GET usage shows its period's).
create or replace function billing_usage_overview(p jsonb)
returns jsonb language plpgsql stable set search_path = public as $$
declare v_account_id text := p->>'account_id';
begin
  return jsonb_build_object(
    'account', (select to_jsonb(a) from billing_accounts a where a.id = v_account_id),
    'subscriptions', coalesce((
      select jsonb_agg(to_jsonb(s) || jsonb_build_object('usage',
               billing_usage_totals(jsonb_build_object('account_id', v_account_id,
                                                       'start', s.current_period_start,
                                                       'end', s.current_period_end)))
             order by s.stripe_created desc)
      from billing_subscriptions_of(v_account_id) s), '[]'::jsonb),
    'month', billing_usage_totals(jsonb_build_object('account_id', v_account_id,
                                                     'start', p->>'month_start', 'end', p->>'month_end')),
    'alerts', coalesce((
      select jsonb_agg(jsonb_build_object('feature', a.feature, 'threshold', a.threshold, 'used', a.used, 'limit', a."limit",
                                          'period_start', a.period_start, 'period_end', a.period_end, 'created_at', a.created_at)
                       order by a.created_at, a.threshold)
      from billing_usage_alerts a where a.account_id = v_account_id and a.period_end > now()), '[]'::jsonb));
end $$;

-- The reporter's claim (20261121000100_usage.sql), now of metered records only: other
-- features' usage stays in our ledger and never reaches Stripe's meter.
create or replace function billing_usage_claim(p jsonb)
returns jsonb language plpgsql
-- Grouping a large backlog sorts in memory rather than on disk.
set search_path = public set work_mem = '64MB' as $$
declare
  lease interval := make_interval(secs => coalesce((p->>'lease_seconds')::integer, 120));
  max_batches integer := coalesce((p->>'max_batches')::integer, 200);
  w bigint := coalesce((p->>'window_seconds')::bigint, 3600);
  token uuid := gen_random_uuid();
  taken integer;
begin
  perform pg_advisory_xact_lock(hashtext('billing_usage_claim'));

  with stale as (
    select id from billing_usage_batches
    where status = 'pending' and (lease_until is null or lease_until <= now())
    order by id limit max_batches
    for update skip locked
  )
  update billing_usage_batches b
  set lease_until = now() + lease, lease_token = token, attempts = b.attempts + 1
  from stale where b.id = stale.id;
  get diagnostics taken = row_count;

  if taken < max_batches then
    with unclaimed as (
      select r.id, r.quantity, r.occurred_at, r.account_id, a.stripe_customer_id as customer_id,
             to_timestamp(floor(extract(epoch from r.occurred_at) / w) * w) as bucket
      from billing_usage_records r join billing_accounts a on a.id = r.account_id
      where r.batch_id is null and r.feature is null and a.stripe_customer_id is not null
    ), cells as (
      select distinct customer_id, bucket from unclaimed
    ), splits as materialized (
      select c.customer_id, c.bucket, v.x as boundary
      from cells c
      join billing_subscriptions s on s.customer_id = c.customer_id
      cross join lateral (values (s.current_period_start), (s.current_period_end)) v(x)
      where v.x > c.bucket and v.x < c.bucket + make_interval(secs => w)
    ), windowed as (
      select u.*, coalesce((select max(sp.boundary) from splits sp
                            where sp.customer_id = u.customer_id and sp.bucket = u.bucket and sp.boundary <= u.occurred_at),
                           u.bucket) as window_start
      from unclaimed u
    ), groups as (
      select customer_id, window_start, min(account_id) as account_id, sum(quantity) as quantity,
             count(*)::integer as records, min(occurred_at) as first_at
      from windowed group by customer_id, window_start
      order by window_start, customer_id
      limit max_batches - taken
    ), numbered as (
      select g.*, coalesce((select max(b.seq) from billing_usage_batches b
                            where b.customer_id = g.customer_id and b.window_start = g.window_start), 0) + 1 as seq
      from groups g
    ), ins as (
      insert into billing_usage_batches (identifier, customer_id, account_id, window_start, seq, event_timestamp,
                                         quantity, records, lease_until, lease_token, attempts)
      select billing_usage_identifier(n.customer_id || ':' || extract(epoch from n.window_start)::bigint || ':' || n.seq),
             n.customer_id, n.account_id, n.window_start, n.seq, floor(extract(epoch from n.first_at))::bigint,
             n.quantity, n.records, now() + lease, token, 1
      from numbered n
      returning id, customer_id, window_start
    )
    update billing_usage_records r set batch_id = ins.id
    from windowed wd join ins on ins.customer_id = wd.customer_id and ins.window_start = wd.window_start
    where r.id = wd.id and r.batch_id is null;
  end if;

  return coalesce((
    select jsonb_agg(jsonb_build_object(
      'id', b.id, 'identifier', b.identifier, 'customer_id', b.customer_id, 'account_id', b.account_id,
      'window_start', b.window_start, 'seq', b.seq, 'event_timestamp', b.event_timestamp,
      'quantity', b.quantity, 'records', b.records, 'attempts', b.attempts, 'lease_token', b.lease_token,
      'lease_ms_left', floor(extract(epoch from (b.lease_until - now())) * 1000)::bigint) order by b.id)
    from billing_usage_batches b where b.lease_token = token and b.status = 'pending'), '[]'::jsonb);
end $$;

select billing_restrict_functions();
