/**
 * The links of the cold-path benchmark, as production has them, over the bench's services
 * (services.ts): every link through a delay proxy (dev/tcp-proxy.ts) where the TCP
 * handshake costs one delay D too, and TLS 1.3 on every link, with a certificate made at
 * start that the function process trusts (NODE_EXTRA_CA_CERTS):
 *
 * - Postgres itself speaks TLS (ssl=on, reloaded), to a password user (SCRAM-SHA-256);
 * - PgBouncer (Debian's) in transaction mode in front of it, TLS to its clients, SCRAM, as
 *   Supabase's pooler; skipped, saying why, when its binary is missing;
 * - the PostgREST stand-in (tests/helpers/postgrest.ts) served over HTTP, for supabase-js;
 * - the Upstash bridge, the Stripe double, the JWKS server and the PostgREST stand-in
 *   behind TLS fronts (tls.ts), as their providers' load balancers are.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import postgres from 'postgres';
import { pgbouncerPath } from '../../dev/system-packages.ts';
import { startTcpProxy, type TcpProxy } from '../../dev/tcp-proxy.ts';
import { postgrestFetch } from '../../tests/helpers/postgrest.ts';
import type { Services } from './services.ts';
import { selfSignedCertificate, startTlsFront, type SelfSigned, type TlsFront } from './tls.ts';
import { freePort, sleep } from './util.ts';

export const APP_USER = 'bench_app';
const APP_PASSWORD = 'bench-app-password-0123456789';
export const SERVICE_ROLE_KEY = 'bench-service-role-key';

/** A store configuration a user can choose: the environment that selects it. */
export interface StoreConfiguration {
  name: string;
  env: Record<string, string | undefined>;
}

export interface ColdServices {
  cert: SelfSigned;
  configurations: StoreConfiguration[];
  /** Configurations that could not be set up, and why. */
  skipped: Array<{ name: string; why: string }>;
  /** The handlers' links (Upstash, Stripe) through TLS and the delay proxies, and the certificate trusted. */
  env: Record<string, string | undefined>;
  /** The JWKS URL through TLS and a delay proxy. */
  jwksUrl: string;
  setDelay(ms: number): void;
  /** Every chunk through the delay proxies from now on, by link (for finding where round trips go). */
  trace(): () => Array<{ link: string; direction: 'up' | 'down'; atMs: number; bytes: number; connection: number }>;
  stop(): Promise<void>;
}

/** The uid owning Postgres's data directory: its key file must belong to that user. */
function ownerOf(dir: string): { uid: number; gid: number; name: string | null } {
  const { uid, gid } = statSync(dir);
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid));
  return { uid, gid, name: line?.split(':')[0] ?? null };
}

async function waitForPort(port: number, timeoutMs: number, child: ChildProcess): Promise<void> {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`not listening on ${port} after ${timeoutMs} ms`);
}

/** PgBouncer in transaction mode, TLS and SCRAM for clients, plain to Postgres on loopback. */
async function startPgBouncer(svc: Services, cert: SelfSigned, dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const bin = pgbouncerPath();
  if (!bin) throw new Error('no pgbouncer binary (Debian: apt-get install pgbouncer; `npm test` installs it as root)');
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  const users = join(dir, 'userlist.txt');
  writeFileSync(users, `"${APP_USER}" "${APP_PASSWORD}"\n`, { mode: 0o600 });
  writeFileSync(
    ini,
    [
      '[databases]',
      `bench = host=127.0.0.1 port=${svc.pgPort} dbname=bench`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${users}`,
      'pool_mode = transaction',
      'default_pool_size = 10',
      'max_client_conn = 500',
      'client_tls_sslmode = require',
      `client_tls_key_file = ${cert.keyFile}`,
      `client_tls_cert_file = ${cert.certFile}`,
      'client_tls_protocols = tlsv1.3',
      'server_tls_sslmode = disable',
      // postgres.js sends these in its startup; the pooler passes them on or ignores them.
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      '',
    ].join('\n'),
  );
  const args = [ini];
  // PgBouncer will not run as root: as the user that owns Postgres (its files are theirs).
  if (process.getuid?.() === 0) {
    const owner = ownerOf(svc.pgDir);
    if (!owner.name || owner.uid === 0) throw new Error('running as root and no other user owns the Postgres data to run PgBouncer as');
    for (const f of [dir, ini, users]) chownSync(f, owner.uid, owner.gid);
    args.unshift('-u', owner.name);
  }
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  try {
    await waitForPort(port, 5000, child);
  } catch (err) {
    child.kill('SIGKILL');
    let log = '';
    try {
      log = readFileSync(join(dir, 'pgbouncer.log'), 'utf8').slice(-1500);
    } catch {
      // no log
    }
    throw new Error(`pgbouncer did not start: ${(err as Error).message}\n${stderr}${log}`);
  }
  return {
    port,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('close', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Turns TLS on in the running Postgres (a reload) and makes the password user (SCRAM). */
async function tlsPostgres(svc: Services, cert: SelfSigned): Promise<void> {
  const owner = ownerOf(svc.pgDir);
  // Postgres wants its key owned by the user it runs as and readable by no one else.
  const keyFile = join(svc.pgDir, 'bench-server.key');
  const certFile = join(svc.pgDir, 'bench-server.crt');
  writeFileSync(keyFile, cert.key, { mode: 0o600 });
  writeFileSync(certFile, cert.cert, { mode: 0o644 });
  chmodSync(keyFile, 0o600);
  if (process.getuid?.() === 0) for (const f of [keyFile, certFile]) chownSync(f, owner.uid, owner.gid);
  const sql = postgres(svc.databaseUrl, { max: 1, onnotice: () => undefined });
  try {
    const hba = (await sql<Array<{ f: string }>>`select current_setting('hba_file') as f`)[0]!.f;
    const lines = readFileSync(hba, 'utf8');
    const ours = `hostssl all ${APP_USER} 127.0.0.1/32 scram-sha-256\nhost all ${APP_USER} 127.0.0.1/32 scram-sha-256\n`;
    if (!lines.startsWith(ours)) writeFileSync(hba, ours + lines);
    await sql.unsafe(`set password_encryption = 'scram-sha-256'`);
    await sql.unsafe(`do $$ begin if not exists (select from pg_roles where rolname = '${APP_USER}') then create role ${APP_USER} login superuser; end if; end $$`);
    await sql.unsafe(`alter role ${APP_USER} password '${APP_PASSWORD}'`);
    await sql.unsafe(`alter system set ssl = on`);
    await sql.unsafe(`alter system set ssl_cert_file = '${certFile}'`);
    await sql.unsafe(`alter system set ssl_key_file = '${keyFile}'`);
    await sql.unsafe(`alter system set ssl_min_protocol_version = 'TLSv1.3'`);
    await sql`select pg_reload_conf()`;
    for (let i = 0; i < 50; i++) {
      if ((await sql<Array<{ ssl: string }>>`select current_setting('ssl') as ssl`)[0]!.ssl === 'on') break;
      await sleep(20);
    }
  } finally {
    await sql.end();
  }
  // Check it: a TLS connection as the password user.
  const check = postgres(`postgres://${APP_USER}:${APP_PASSWORD}@127.0.0.1:${svc.pgPort}/bench?sslmode=require`, { max: 1, onnotice: () => undefined });
  try {
    const rows = await check<Array<{ ssl: boolean }>>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`;
    if (!rows[0]?.ssl) throw new Error('Postgres did not turn TLS on');
  } finally {
    await check.end();
  }
}

/** The PostgREST stand-in as an HTTP server (supabase-js's rpc calls). */
async function startPostgrest(databaseUrl: string): Promise<{ port: number; stop(): Promise<void> }> {
  const rest = postgrestFetch(databaseUrl);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      rest
        .fetch(`http://127.0.0.1${req.url ?? '/'}`, { method: req.method, headers, body })
        .then(async (r) => {
          const out = Buffer.from(await r.arrayBuffer());
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json', 'content-length': out.length });
          res.end(out);
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await rest.close();
    },
  };
}

export async function startColdServices(svc: Services, dir: string, log: (s: string) => void): Promise<ColdServices> {
  const stops: Array<() => Promise<unknown>> = [];
  const proxies: Array<{ name: string; proxy: TcpProxy }> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((err) => console.error('bench: cleanup failed:', err));
    stops.length = 0;
  };
  try {
    chmodSync(dir, 0o755);
    const cert = selfSignedCertificate(dir);
    await tlsPostgres(svc, cert);

    /** A delay proxy (TCP handshake counted) in front of `port`. */
    const delayed = async (port: number, name: string) => {
      const p = await startTcpProxy({ target: { host: '127.0.0.1', port }, handshake: true });
      proxies.push({ name, proxy: p });
      stops.push(() => p.close());
      return p;
    };
    /** TLS in front of a plain HTTP server, the delay in front of that: its https:// URL. */
    const https = async (name: string, port: number, path = '') => {
      const front: TlsFront = await startTlsFront({ targetPort: port, cert });
      stops.push(() => front.close());
      const p = await delayed(front.port, name);
      return `https://127.0.0.1:${p.port}${path}`;
    };

    const pg = await delayed(svc.pgPort, 'postgres');
    const appUrl = (port: number, query: string) => `postgres://${APP_USER}:${APP_PASSWORD}@127.0.0.1:${port}/bench?${query}`;
    const configurations: StoreConfiguration[] = [
      { name: 'postgres.js direct (sslnegotiation=direct)', env: { DATABASE_URL: appUrl(pg.port, 'sslmode=require&sslnegotiation=direct') } },
      { name: 'postgres.js direct (SSLRequest)', env: { DATABASE_URL: appUrl(pg.port, 'sslmode=require') } },
    ];
    const skipped: ColdServices['skipped'] = [];
    try {
      const bouncer = await startPgBouncer(svc, cert, dir);
      stops.push(() => bouncer.stop());
      const b = await delayed(bouncer.port, 'pgbouncer');
      configurations.push({ name: 'postgres.js via PgBouncer (transaction)', env: { DATABASE_URL: appUrl(b.port, 'sslmode=require') } });
    } catch (err) {
      const why = (err as Error).message;
      skipped.push({ name: 'postgres.js via PgBouncer (transaction)', why });
      log(`  skipped: PgBouncer: ${why}`);
    }
    const rest = await startPostgrest(svc.databaseUrl);
    stops.push(() => rest.stop());
    configurations.push({
      name: 'supabase-js (PostgREST over HTTPS)',
      env: { DATABASE_URL: undefined, SUPABASE_URL: await https('postgrest', rest.port), SUPABASE_SERVICE_ROLE_KEY: SERVICE_ROLE_KEY },
    });

    const env = {
      UPSTASH_REDIS_REST_URL: await https('upstash', Number(new URL(svc.bridge.url).port)),
      STRIPE_API_BASE: await https('stripe', svc.double.port),
      NODE_EXTRA_CA_CERTS: cert.certFile,
    };
    return {
      cert,
      configurations,
      skipped,
      env,
      jwksUrl: await https('jwks', svc.jwks.port, new URL(svc.jwks.url).pathname),
      setDelay: (ms: number) => proxies.forEach((p) => p.proxy.setDelay(ms)),
      trace() {
        const t0 = performance.now();
        const seen: ReturnType<ReturnType<ColdServices['trace']>> = [];
        const stopAll = proxies.map(({ name, proxy }) =>
          proxy.watch((c) => seen.push({ link: name, direction: c.direction, atMs: performance.now() - t0, bytes: c.data.length, connection: c.connection.id })),
        );
        return () => {
          stopAll.forEach((f) => f());
          return seen;
        };
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
