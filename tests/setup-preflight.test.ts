/**
 * On a machine without redis-server where nothing may be installed (no root, no passwordless
 * sudo; BILLING_NO_INSTALL=1 and a PATH holding only node stand in for it), npm test's first
 * step and the suite's own global setup stop within seconds with the one command to run,
 * (chromium too, looked for where CHROMIUM_PATH says) and leave no process behind (each run is its own process group, checked empty after).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const bare = mkdtempSync(join(tmpdir(), 'billing-bare-path-'));
symlinkSync(process.execPath, join(bare, 'node'));
afterAll(() => rmSync(bare, { recursive: true, force: true }));

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runBare(args: string[]): Promise<{ status: number | null; output: string; ms: number; leftBehind: boolean }> {
  const started = Date.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true, // its own process group: anything it started is found by the group
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PATH: bare, BILLING_NO_INSTALL: '1', CI: 'true', CHROMIUM_PATH: join(bare, 'chromium') },
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
  const status = await new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  clearTimeout(timer);
  const ms = Date.now() - started;
  await new Promise((r) => setTimeout(r, 200));
  const leftBehind = groupAlive(child.pid!);
  if (leftBehind) process.kill(-child.pid!, 'SIGKILL');
  return { status, output, ms, leftBehind };
}

it("npm test's first step names the command to run, within seconds", async () => {
  const r = await runBare([join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'dev/system-packages.ts']);
  expect(r.output).toContain('sudo apt-get install -y redis-server chromium');
  expect(r.status).toBe(1);
  expect(r.ms).toBeLessThan(5000);
  expect(r.leftBehind).toBe(false);
});

it('the global setup stops before Postgres starts and leaves nothing running', async () => {
  const vitest = join(ROOT, 'node_modules/vitest/vitest.mjs');
  const r = await runBare([vitest, 'run', '--config', 'tests/helpers/exit-code.vitest.config.ts']);
  expect(r.output).toContain('sudo apt-get install -y redis-server');
  expect(r.output).not.toMatch(/1 failed/); // the fixture's test never ran
  expect(r.status).toBe(1);
  expect(r.ms).toBeLessThan(8000);
  expect(r.leftBehind).toBe(false);
});
