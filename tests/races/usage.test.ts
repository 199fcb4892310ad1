/**
 * Races on usage: batches posted at the same moment that share some idempotency keys (in
 * different orders, with different quantities), and usage arriving while reporters claim
 * and send. Every key is recorded exactly once, each answer says which of its records were
 * duplicates consistently with what was stored, and Stripe ends with exactly the ledger.
 * (The same batch posted twice at once is in tests/usage/record.test.ts; reporters racing
 * each other in tests/usage/report.test.ts.)
 */
import { shuffle } from '../../dev/shuffle.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uid, type Stack } from '../helpers/stack.ts';
import {
  expectLedgerMatchesStripe, linkedAccount, minute, postUsage, report, reportAll, startFaultStack, type FaultStack, type StripeSide,
} from '../faults/helpers.ts';

let f: FaultStack;
let stack: Stack;
let s: StripeSide;
beforeAll(async () => {
  f = await startFaultStack({ DATABASE_POOL_MAX: '10' });
  ({ stack, s } = f);
});
afterAll(() => f.stop());


interface Rec { accountId: string; quantity: number; idempotencyKey: string }

describe('usage batches posted at once that share keys', () => {
  it('record every key exactly once, whatever the order of the shared keys; the answers agree with the ledger', async () => {
    for (let round = 1; round <= 6; round++) {
      const accounts = [`org:${uid('org')}`, `user:${uid('u')}`];
      const keys = Array.from({ length: 120 }, (_, i) => ({ accountId: accounts[i % 2]!, key: `evt-${i}` }));
      // Overlapping slices, some reversed or shuffled, so shared keys come in opposite orders.
      const slices: Array<typeof keys> = [
        keys.slice(0, 70),
        keys.slice(50, 120).reverse(),
        shuffle(keys.slice(20, 100), round),
        keys.filter((_, i) => i % 3 === 0).reverse(),
        shuffle(keys, round * 7).slice(0, 60),
        keys.slice(60, 120),
      ];
      const batches: Rec[][] = slices.map((slice, b) => slice.map((k, i) => ({ accountId: k.accountId, idempotencyKey: k.key, quantity: b * 1000 + i + 1 })));
      const answers = await Promise.all(batches.map((records) => postUsage({ records })));
      expect(answers.map((a) => a.status), answers.map((a) => a.text).join('\n')).toEqual(batches.map(() => 200));

      // Which batch each key was taken from, by the answers.
      const takenBy = new Map<string, Rec>();
      answers.forEach((answer, b) => {
        const batch = batches[b]!;
        const dup = new Set((answer.body.duplicates as Array<{ index: number; idempotencyKey: string }>).map((d) => {
          expect(batch[d.index]!.idempotencyKey).toBe(d.idempotencyKey);
          return d.index;
        }));
        expect(answer.body.accepted + dup.size).toBe(batch.length);
        batch.forEach((r, i) => {
          if (dup.has(i)) return;
          const id = `${r.accountId}|${r.idempotencyKey}`;
          expect(takenBy.has(id), `${id} accepted twice (round ${round})`).toBe(false);
          takenBy.set(id, r);
        });
      });
      const rows = await stack.sql<{ account_id: string; idempotency_key: string; quantity: string }[]>`
        select account_id, idempotency_key, quantity::text from billing_usage_records where account_id = any(${accounts})`;
      expect(rows).toHaveLength(keys.length);
      expect(takenBy.size).toBe(keys.length);
      for (const row of rows) {
        // Stored with the quantity of the batch whose answer accepted it.
        expect(Number(row.quantity), `${row.account_id}|${row.idempotency_key}`).toBe(takenBy.get(`${row.account_id}|${row.idempotency_key}`)?.quantity);
      }
    }
  });
});

describe('usage arriving while reporters run', () => {
  it('every record goes out in exactly one batch; Stripe ends with exactly the ledger', async () => {
    const accounts = await Promise.all([1, 2, 3, 4].map((i) => linkedAccount(s, i % 2 ? 'user' : 'organization')));
    let writing = true;
    // Every record sent, and how many records the answers named as duplicates.
    const sent: Array<{ accountId: string; idempotencyKey: string; quantity: number }> = [];
    let answeredDuplicates = 0;
    const writers = Promise.all([0, 1, 2].map(async (w) => {
      for (let n = 0; n < 12; n++) {
        // Each writer sends two records of its own per account, and re-sends the first of
        // the next writer's (as a retrying ingestion service would: same key, same record).
        const records = accounts.flatMap((a, i) => [0, 1, 2].map((j) => {
          const owner = (w + (j === 2 ? 1 : 0)) % 3;
          const r = j === 2 ? 0 : j;
          return {
            accountId: a.accountId,
            idempotencyKey: `w${owner}-n${n}-a${i}-r${r}`,
            quantity: 1 + ((n + i + r) % 5),
            timestamp: minute(8 - (n % 6)) + owner * 7 + r,
          };
        }));
        const res = await postUsage({ records });
        expect(res.status, res.text).toBe(200);
        sent.push(...records);
        answeredDuplicates += (res.body.duplicates as unknown[]).length;
      }
    })).finally(() => {
      writing = false;
    });
    const reporters = Promise.all([1, 2].map(async () => {
      const runs = [];
      while (writing) runs.push(await report({ maxBatchesPerClaim: 3, concurrency: 2, leaseSeconds: 30 }));
      return runs;
    }));
    await writers;
    const runs = (await reporters).flat();
    expect(runs.filter((r) => r.failed || r.stopped === 'store_error')).toEqual([]);
    expect(runs.reduce((n, r) => n + r.duplicates, 0)).toBe(0);
    await reportAll();

    // What the ledger must hold, from the records sent: each key once, with its quantity
    // (every copy of a key has the same quantity, so which copy was taken does not matter).
    const distinct = new Map<string, number>();
    for (const r of sent) {
      const id = `${r.accountId}|${r.idempotencyKey}`;
      expect(distinct.get(id) ?? r.quantity, id).toBe(r.quantity);
      distinct.set(id, r.quantity);
    }
    const resent = sent.length - distinct.size;
    expect(resent).toBeGreaterThan(0);
    // Every re-sent record (its key already taken, by another writer's batch) was answered as a duplicate.
    expect(answeredDuplicates).toBe(resent);
    const expectedSum = [...distinct.values()].reduce((n, q) => n + q, 0);

    const rows = await stack.sql<{ account_id: string; idempotency_key: string; quantity: string }[]>`
      select account_id, idempotency_key, quantity::text from billing_usage_records where account_id = any(${accounts.map((a) => a.accountId)})`;
    expect(rows).toHaveLength(distinct.size);
    expect(new Map(rows.map((row) => [`${row.account_id}|${row.idempotency_key}`, Number(row.quantity)]))).toEqual(distinct);

    const [check] = await stack.sql<{ records_unbatched: number; batch_sum: string; record_sum: string; mismatched: number }[]>`
      with mine as (select r.* from billing_usage_records r where r.account_id = any(${accounts.map((a) => a.accountId)}))
      select (select count(*)::int from mine where batch_id is null) as records_unbatched,
             (select sum(b.quantity)::text from billing_usage_batches b where b.account_id = any(${accounts.map((a) => a.accountId)})) as batch_sum,
             (select sum(quantity)::text from mine) as record_sum,
             (select count(*)::int from billing_usage_batches b
               where b.account_id = any(${accounts.map((a) => a.accountId)})
                 and b.quantity <> (select sum(quantity) from mine where batch_id = b.id)) as mismatched`;
    expect(Number(check!.record_sum)).toBe(expectedSum);
    expect(check).toEqual({ records_unbatched: 0, batch_sum: String(expectedSum), record_sum: String(expectedSum), mismatched: 0 });
    const ids = s.double.state.meterEvents.map((e) => e.identifier);
    expect(new Set(ids).size).toBe(ids.length);
    await expectLedgerMatchesStripe(stack, s);
  });
});
