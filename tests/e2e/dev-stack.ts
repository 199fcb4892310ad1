/**
 * `npm run dev` as the browser test runs it: on free ports with a temporary data folder and
 * no .env, so it never meets a developer's running stack; its output goes to a log file.
 * Stopped as a process group, so netlify dev, Postgres and redis-server go with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../dev/ports.ts';

export interface DevStack {
  site: string;
  stripe: string;
  stop(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '../..');

/** Variables that would point the stack at real services or change its defaults. */
const OUTSIDE = /^(STRIPE_|DATABASE_URL|SUPABASE_|UPSTASH_|JWT_|URL$|BILLING_SERVICE_KEY|ALLOWED_ORIGINS|RATE_LIMIT_|NODE_ENV|CONTEXT$)/;

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startDevStack(logFile: string, timeoutMs = 150_000): Promise<DevStack> {
  const [site, postgres, upstash, stripe] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'billing-e2e-'));
  // Postgres runs as its own OS user (it refuses root), which must reach the folder inside.
  chmodSync(dataDir, 0o755);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !OUTSIDE.test(k)));
  const log = createWriteStream(logFile);
  const child: ChildProcess = spawn('npm', ['run', 'dev'], {
    cwd: ROOT,
    detached: true, // its own process group, stopped as one
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...env,
      DEV_PORT: String(site),
      DEV_POSTGRES_PORT: String(postgres),
      DEV_UPSTASH_PORT: String(upstash),
      DEV_STRIPE_PORT: String(stripe),
      DEV_DATA_DIR: dataDir,
      DEV_NO_DOTENV: '1',
      LOG_LEVEL: 'warn',
    },
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));

  const stop = async () => {
    const pid = child.pid;
    if (pid && groupAlive(pid)) {
      process.kill(-pid, 'SIGTERM');
      for (let i = 0; i < 100 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 200));
      if (groupAlive(pid)) process.kill(-pid, 'SIGKILL');
    }
    log.end();
    rmSync(dataDir, { recursive: true, force: true });
  };

  // Ready when the site answers and a function does (they load a little after the site).
  const siteUrl = `http://localhost:${site}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited !== undefined) {
      await stop();
      throw new Error(`npm run dev exited with ${exited} before it was ready: see ${logFile}`);
    }
    const fn = await fetch(`${siteUrl}/api/billing/subscription`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
    if (fn === 401) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`npm run dev did not answer on ${siteUrl} within ${timeoutMs / 1000} s: see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { site: siteUrl, stripe: `http://127.0.0.1:${stripe}`, stop };
}
