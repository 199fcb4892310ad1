/**
 * The cold-path count of `npm run bench` works: a tiny run (one store configuration, one
 * endpoint) through the real command, with TLS and SCRAM on the Postgres link and the TCP
 * handshake costing a delay, prints the cold-path table and finds a whole number of round
 * trips: 4 for GET subscription over postgres.js with sslnegotiation=direct (TCP, TLS 1.3,
 * SCRAM's two exchanges with the query riding on the second; Upstash's TCP, TLS and call
 * beside them). Without the handshake counted, or with Postgres connecting one step after
 * another, the count is not 4.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { ColdPathReport } from '../../scripts/bench/coldpath.ts';
import { ROOT, runChild, tsNode } from '../../scripts/bench/util.ts';

const dir = mkdtempSync(join(tmpdir(), 'billing-coldpath-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('counts a cold GET subscription over postgres.js (sslnegotiation=direct) as 4 round trips', async () => {
  const out = join(dir, 'cold.json');
  const [node, args] = tsNode(join(ROOT, 'scripts', 'bench', 'index.ts'), [
    '--only', 'coldpath',
    '--quick',
    '--cold-path-samples', '3',
    '--cold-configurations', 'postgres.js direct (sslnegotiation=direct)',
    '--cold-endpoints', 'GET subscription',
    '--out', out,
    '--max-minutes', '2',
  ]);
  const r = await runChild(node, args, { timeoutMs: 120_000 });
  expect(r.code, r.stdout + r.stderr).toBe(0);
  expect(r.stdout).toContain('cold path: first request of a fresh process');
  const report = (JSON.parse(readFileSync(out, 'utf8')) as { sections: { coldPath: ColdPathReport } }).sections.coldPath;
  expect(report.results).toHaveLength(1);
  const [result] = report.results;
  expect(result!.configuration).toBe('postgres.js direct (sslnegotiation=direct)');
  expect(result!.samples).toBe(3);
  // A whole number of D, within scheduling noise on a shared machine.
  expect(Math.abs(result!.roundTrips - 4)).toBeLessThanOrEqual(0.4);
  expect(result!.ok).toBe(true);
}, 150_000);
