/**
 * Webhook burst: full subscription lifecycles driven through a fresh Stripe double (its
 * actions with `deliver: false`, so the events are only stored): checkout completion, a
 * renewal, a failed renewal and its recovery, then for a third of them nothing more, a
 * third cancel at period end, a third cancel at period end and reach it (deletion). Enough
 * lifecycles for the target count with 20% of the events sent twice; all of it shuffled
 * and posted, signed as Stripe signs, at a fixed concurrency to the webhook handler served
 * over HTTP in its own process. Then every subscription the double holds is compared with
 * ours: status, cancel_at_period_end, current_period_end.
 */
import { join } from 'node:path';
import postgres from 'postgres';
import type Stripe from 'stripe';
import { checkedOut, signedDelivery, uid } from './fixtures.ts';
import { childEnv, type Services } from './services.ts';
import { percentile, pool, ROOT, round, shuffle, startChild, tsNode } from './util.ts';

export interface BurstResult {
  events: number;
  unique: number;
  duplicatesSent: number;
  lifecycles: number;
  subscriptions: number;
  concurrency: number;
  seconds: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  statuses: Record<string, number>;
  answeredDuplicate: number;
  differences: number;
  differenceSamples: string[];
  generateSeconds: number;
}

export async function webhookBurst(
  svc: Services,
  opts: { events: number; concurrency: number; duplicateShare: number; log: (s: string) => void },
): Promise<BurstResult> {
  const double = await svc.startDouble();
  svc.applyEnv({ STRIPE_API_BASE: double.url });
  const sql = postgres(svc.databaseUrl, { max: 2, onnotice: () => undefined });
  try {
    // 1. Lifecycles until the unique events reach the share the target count leaves them.
    const t0 = performance.now();
    const targetUnique = Math.round(opts.events / (1 + opts.duplicateShare));
    const unique: Stripe.Event[] = [];
    const off = { deliver: false } as const;
    let lifecycles = 0;
    while (unique.length < targetUnique) {
      const i = lifecycles++;
      const done = await checkedOut(double, await svc.hsToken({ sub: uid('burst') }));
      unique.push(...done.events);
      unique.push(...(await double.actions.renewPeriod(done.sub, off)).events);
      const failed = await double.actions.renewPeriod(done.sub, { paymentFails: true, ...off });
      unique.push(...failed.events);
      if (!failed.invoice) throw new Error('burst: the failed renewal left no invoice');
      unique.push(...(await double.actions.payInvoice(failed.invoice.id, off)).events);
      if (i % 3 >= 1) unique.push(...(await double.actions.scheduleCancel(done.sub, true, off)).events);
      if (i % 3 === 2) unique.push(...(await double.actions.renewPeriod(done.sub, off)).events);
    }
    const duplicates = shuffle(unique, 17).slice(0, Math.max(0, opts.events - unique.length));
    const all = shuffle([...unique, ...duplicates], 42);
    const generateSeconds = (performance.now() - t0) / 1000;
    opts.log(`  ${lifecycles} lifecycles, ${unique.length} events + ${duplicates.length} duplicates = ${all.length} (generated in ${round(generateSeconds, 1)} s)`);

    // 2. Post them.
    const [node, args] = tsNode(join(ROOT, 'scripts', 'bench', 'serve-child.ts'), ['webhook']);
    const server = await startChild<{ url: string }>(node, args, { env: childEnv(svc.env({ STRIPE_API_BASE: double.url })) });
    const statuses: Record<string, number> = {};
    const latencies: number[] = [];
    const failures: string[] = [];
    let answeredDuplicate = 0;
    let seconds: number;
    try {
      const url = `${server.ready.url}/api/stripe/webhook`;
      const t1 = performance.now();
      await pool(all, opts.concurrency, async (event) => {
        const delivery = signedDelivery(double, event);
        const t = performance.now();
        const res = await fetch(url, { method: 'POST', ...delivery });
        const text = await res.text();
        latencies.push(performance.now() - t);
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status !== 200 && failures.length < 5) failures.push(`${event.type} ${event.id}: ${res.status} ${text.slice(0, 200)}`);
        if (res.status === 200 && (JSON.parse(text) as { duplicate?: boolean }).duplicate) answeredDuplicate++;
      });
      seconds = (performance.now() - t1) / 1000;
    } finally {
      await server.stop();
    }

    // 3. Compare with the double.
    const theirs = [...double.state.subscriptions.values()];
    const ours = await sql<{ id: string; status: string; cancel_at_period_end: boolean; current_period_end: Date | null }[]>`
      select id, status, cancel_at_period_end, current_period_end from billing_subscriptions where id = any(${theirs.map((s) => s.id)})`;
    const byId = new Map(ours.map((r) => [r.id, r]));
    const differenceSamples: string[] = [];
    let differences = 0;
    for (const s of theirs) {
      const o = byId.get(s.id);
      const end = (s.items.data[0]?.current_period_end ?? 0) * 1000;
      const problems: string[] = [];
      if (!o) problems.push('missing');
      else {
        if (o.status !== s.status) problems.push(`status ${o.status} != ${s.status}`);
        if (o.cancel_at_period_end !== s.cancel_at_period_end) problems.push(`cancel_at_period_end ${o.cancel_at_period_end} != ${s.cancel_at_period_end}`);
        if ((o.current_period_end?.getTime() ?? 0) !== end) problems.push(`current_period_end ${o.current_period_end?.toISOString()} != ${new Date(end).toISOString()}`);
      }
      if (problems.length) {
        differences++;
        if (differenceSamples.length < 5) differenceSamples.push(`${s.id}: ${problems.join(', ')}`);
      }
    }
    const pct = (p: number) => round(percentile(latencies, p), 1);
    const result: BurstResult = {
      events: all.length,
      unique: unique.length,
      duplicatesSent: duplicates.length,
      lifecycles,
      subscriptions: theirs.length,
      concurrency: opts.concurrency,
      seconds: round(seconds, 2),
      eventsPerSecond: Math.round(all.length / seconds),
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      statuses,
      answeredDuplicate,
      differences,
      differenceSamples,
      generateSeconds: round(generateSeconds, 1),
    };
    opts.log(
      `  ${result.events} events at concurrency ${result.concurrency}: ${result.eventsPerSecond} events/s (${result.seconds} s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms)` +
        `  statuses ${JSON.stringify(statuses)}, ${answeredDuplicate} answered as duplicates`,
    );
    opts.log(`  ${result.subscriptions} subscriptions compared with the double: ${differences} difference(s)${differences ? `: ${differenceSamples.join('; ')}` : ''}`);
    for (const f of failures) opts.log(`  non-200: ${f}`);
    return result;
  } finally {
    await sql.end({ timeout: 5 });
    svc.applyEnv();
  }
}
