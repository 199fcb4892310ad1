/**
 * The Debian packages the two commands need beyond Node: redis-server (rate limits, and the
 * test suite's Redis) and chromium (the browser test); and pgbouncer, which only
 * `npm run bench` uses (installed when possible, never required). Installed here when this process may
 * (root, or passwordless sudo), saying what and why on one line; otherwise the caller gets
 * the one command to run. BILLING_NO_INSTALL=1 never installs (what a user without root sees).
 *
 * As a script (npm test's first step): `tsx dev/system-packages.ts` ensures both, or exits 1
 * within seconds with that command, before anything slow starts.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';

export interface SystemPackage {
  /** The Debian package name. */
  name: string;
  present(): boolean;
}

/** Absolute path of an executable on PATH, or null. */
export function onPath(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const REDIS_SERVER: SystemPackage = { name: 'redis-server', present: () => onPath('redis-server') !== null };
export const CHROMIUM: SystemPackage = { name: 'chromium', present: () => existsSync(CHROMIUM_PATH) };
/** Debian installs it in /usr/sbin, which a user's PATH may lack. */
export const pgbouncerPath = (): string | null => onPath('pgbouncer') ?? (existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : null);
/** The transaction pooler `npm run bench` measures (as Supabase's pooler); only the bench needs it. */
export const PGBOUNCER: SystemPackage = { name: 'pgbouncer', present: () => pgbouncerPath() !== null };

/** The one command a user runs to install them. */
export function installCommand(packages: SystemPackage[]): string {
  // With `update` first: a fresh machine's package lists are often empty.
  return `sudo apt-get update && sudo apt-get install -y ${packages.map((p) => p.name).join(' ')}`;
}

/** How this process may run apt-get: directly (root), through `sudo -n`, or not at all. */
function installer(): string[] | null {
  if (process.env.BILLING_NO_INSTALL === '1' || !onPath('apt-get')) return null;
  if (process.getuid?.() === 0) return [];
  if (!onPath('sudo')) return null;
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0 ? ['sudo', '-n'] : null;
}

function aptGet(prefix: string[], args: string[]): boolean {
  const [command, ...rest] = [...prefix, 'apt-get', ...args];
  const run = spawnSync(command!, rest, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return run.status === 0;
}

/** Whether apt has a version of `name` to install (its lists name one). */
function installable(name: string): boolean {
  const policy = spawnSync('apt-cache', ['policy', name], { encoding: 'utf8' });
  return /Candidate: (?!\(none\))/.test(policy.stdout ?? '');
}

/**
 * Installs whichever of `packages` is missing when it may, telling `say` what and why.
 * Returns the packages still missing (empty: all there).
 */
export function ensurePackages(packages: SystemPackage[], why: string, say: (line: string) => void = console.error): SystemPackage[] {
  const missing = packages.filter((p) => !p.present());
  if (missing.length === 0) return [];
  const prefix = installer();
  if (!prefix) return missing;
  const names = missing.map((p) => p.name);
  say(`installing ${names.join(' ')} (Debian) ${why}`);
  // A fresh machine's package lists are often empty: fetch them when apt has no candidate to
  // install. (`apt-cache show` is not enough: it also knows a package that was removed.)
  if (!names.every(installable)) aptGet(prefix, ['update', '-qq']);
  aptGet(prefix, ['install', '-y', '-qq', ...names]);
  return missing.filter((p) => !p.present());
}

/** The test suite's preflight: null when the packages are there (installed if need be), else what to run. */
export function testPreflight(packages: SystemPackage[], why: string): string | null {
  const missing = ensurePackages(packages, why);
  if (missing.length === 0) return null;
  return `npm test needs ${missing.map((p) => p.name).join(' and ')} and could not install ${missing.length > 1 ? 'them' : 'it'} (it does as root or with passwordless sudo, unless BILLING_NO_INSTALL=1). Run:\n  ${installCommand(missing)}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const problem = testPreflight([REDIS_SERVER, CHROMIUM], "for the test suite's Redis and browser test");
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
  // Not required: without it `npm run bench` skips its pooler configuration, saying why.
  ensurePackages([PGBOUNCER], 'for the benchmark of a transaction pooler (npm run bench)');
}
