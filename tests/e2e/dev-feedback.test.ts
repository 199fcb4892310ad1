/**
 * `npm run dev` tells the developer what is wrong in one line, before it starts anything:
 * a port in use, a bad setting, the public development JWT secret beside real data.
 * (The working start is the browser test's.)
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

function start(env: Record<string, string>) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(STRIPE_|DATABASE_URL|SUPABASE_|JWT_|DEV_)/.test(k)));
  const r = spawnSync(join(ROOT, 'node_modules/.bin/tsx'), ['dev/start.ts'], {
    cwd: ROOT,
    env: { ...clean, DEV_NO_DOTENV: '1', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

describe('npm run dev feedback', () => {
  it('names a port in use and the setting that moves it', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = start({ DEV_PORT: String(port) });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`npm run dev: port ${port} (the site and API) is in use, probably by another npm run dev: stop it, or set DEV_PORT to a free port.`);
      expect(r.stdout).toBe('');
    } finally {
      busy.close();
    }
  });

  it('names a bad setting and where it came from', () => {
    const r = start({ STRIPE_SECRET_KEY: 'pk_test_publishable' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('npm run dev: STRIPE_SECRET_KEY must start with sk_test_, sk_live_ or rk_ (from your environment or .env).');
  });

  it('refuses a port that is not a number', () => {
    const r = start({ DEV_STRIPE_PORT: 'abc' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('npm run dev: DEV_STRIPE_PORT=abc is not a port number.');
  });

  const refusal = (what: string) =>
    `npm run dev: refusing the public development JWT secret with ${what}: set JWT_SECRET (or SUPABASE_JWT_SECRET, JWT_JWKS_URL) to your own.`;

  it('refuses the development JWT secret beside a live Stripe key', () => {
    for (const key of ['sk_live_abc123', 'rk_live_abc123']) {
      const r = start({ STRIPE_SECRET_KEY: key });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(refusal('a live Stripe key (STRIPE_SECRET_KEY)'));
      expect(r.stdout).toBe('');
    }
  });

  it('refuses the development JWT secret beside a database elsewhere, named by its variable', () => {
    const db = start({ DATABASE_URL: 'postgres://u:p@db.example.com:5432/app' });
    expect(db.status).toBe(1);
    expect(db.stderr).toBe(refusal('a database that is not on this machine (DATABASE_URL)'));
    const supabase = start({ SUPABASE_URL: 'https://abc.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'service-role' });
    expect(supabase.status).toBe(1);
    expect(supabase.stderr).toBe(refusal('a database that is not on this machine (SUPABASE_URL)'));
    // The same secret named outright is the same secret.
    const named = start({ STRIPE_SECRET_KEY: 'sk_live_abc123', JWT_SECRET: 'dev-only-jwt-secret-do-not-use-in-production-000000' });
    expect(named.stderr).toBe(refusal('a live Stripe key (STRIPE_SECRET_KEY)'));
  });
});
