/**
 * A Postgres connection for postgres.js (its `socket` option) that costs a cold function
 * fewer round trips, for DATABASE_URLs that ask for TLS (production):
 *
 * - TLS as the URL says: `sslmode=require|prefer|allow` (encrypted, certificate not checked,
 *   as libpq), `verify-ca` (the chain checked), `verify-full` (and the host name);
 *   `sslnegotiation=direct` starts TLS at once (ALPN "postgresql", PostgreSQL 17+) instead
 *   of SSLRequest first. The key share is P-256, PostgreSQL's default curve (no HelloRetryRequest).
 * - SCRAM-SHA-256 done here, with the client's first message sent beside the StartupMessage
 *   (the server reads it once it has asked for SASL): one round trip less. A server that
 *   asks for anything else (md5, password, trust) gets a new connection without the guess,
 *   and this process does not guess again for that server.
 * - postgres.js is told at once that the connection is ready, so its first query waits
 *   here and leaves with the last authentication message: one round trip less again. (A
 *   server that then refuses the password answers the query with the error.) With
 *   `sslmode=require` the server is not authenticated before the query leaves, which is
 *   what `require` means for libpq too: use verify-full against an untrusted network.
 * - `preconnect`: a link opened before postgres.js asks for one (at the start of a cold
 *   instance's first request), handed to it on its first connection.
 *
 * A cold query with sslnegotiation=direct: TCP, TLS, SCRAM, SCRAM + the query: 4 round trips;
 * postgres.js by itself took 8 (npm run bench, README).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

export type TlsMode = 'require' | 'prefer' | 'verify-ca' | 'verify';

export interface PgLinkTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Startup parameters beyond user and database (application_name, ...), as postgres.js sends them. */
  connection: Record<string, string>;
  tls: TlsMode;
  direct: boolean;
  /** `sslrootcert=<file>`: the CA certificates to check the server's against (PEM), instead of Node's. */
  ca?: string | undefined;
  connectTimeoutMs: number;
}

/** Servers (host:port:user) that did not ask for SCRAM: no guessing there again. */
const noGuess = new Set<string>();

const CANCEL_REQUEST = 80877102;
const SSL_REQUEST = 80877103;

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const AUTH_OK = message('R', Buffer.from([0, 0, 0, 0]));
const READY = message('Z', Buffer.from('I'));

function startupMessage(t: PgLinkTarget): Buffer {
  // As postgres.js builds it (empty values left out).
  const params = Object.entries({ user: t.user, database: t.database, client_encoding: 'UTF8', ...t.connection })
    .filter(([, v]) => v)
    .map(([k, v]) => `${k}\0${v}\0`)
    .join('');
  const body = Buffer.from(`\0\0\0\0${params}\0`, 'utf8');
  body.writeInt16BE(3, 0);
  body.writeInt16BE(0, 2);
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length + 4);
  return Buffer.concat([len, body]);
}

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();

class Scram {
  readonly nonce = randomBytes(18).toString('base64');
  private serverSignature = '';
  constructor(private readonly password: string) {}

  first(): Buffer {
    const clientFirst = Buffer.from(`n,,n=*,r=${this.nonce}`);
    const mech = Buffer.from('SCRAM-SHA-256\0');
    const len = Buffer.alloc(4);
    len.writeInt32BE(clientFirst.length);
    return message('p', Buffer.concat([mech, len, clientFirst]));
  }

  final(serverFirst: string): Buffer {
    const f = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
    if (!f.r?.startsWith(this.nonce) || !f.s || !f.i) throw new Error('SCRAM: the server sent an invalid first message');
    const salted = pbkdf2Sync(this.password, Buffer.from(f.s, 'base64'), Number(f.i), 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const withoutProof = `c=biws,r=${f.r}`;
    const auth = `n=*,r=${this.nonce},${serverFirst},${withoutProof}`;
    const signature = hmac(createHash('sha256').update(clientKey).digest(), auth);
    const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]!));
    this.serverSignature = hmac(hmac(salted, 'Server Key'), auth).toString('base64');
    return message('p', Buffer.from(`${withoutProof},p=${proof.toString('base64')}`));
  }

  verify(serverFinal: string): boolean {
    return serverFinal.split(',').find((kv) => kv.startsWith('v='))?.slice(2) === this.serverSignature;
  }
}

type State =
  | 'connecting' // TCP (+ TLS); nothing sent to the server yet
  | 'auth' // startup sent, authenticating
  | 'open'; // authenticated, or a cancel request sent: bytes pass both ways

export class PgLink extends Duplex {
  private raw: net.Socket | undefined;
  private state: State = 'connecting';
  /** Whether the startup goes as soon as the connection is up (an eager link), or when postgres.js's first message says so. */
  private startNow: boolean;
  /** postgres.js's first message came (its StartupMessage, or a cancel request). */
  private gotFirst = false;
  private cancel: Buffer | undefined;
  /** postgres.js's bytes held until the authentication's last message leaves with them. */
  private held: Buffer[] = [];
  private released = false;
  private inbox: Buffer = Buffer.alloc(0);
  private scram: Scram | undefined;
  private guessed = false;
  private sawSasl = false;
  /** The server's first ReadyForQuery after authentication: postgres.js had ours. */
  private swallowReady = false;
  private readonly timer: NodeJS.Timeout;

  /** `eager`: connect and authenticate now, before postgres.js asks (see `preconnect`). */
  constructor(private readonly target: PgLinkTarget, eager = false) {
    super({ allowHalfOpen: false });
    this.startNow = eager;
    this.timer = setTimeout(
      () => this.fail(Object.assign(new Error('connecting to the database took too long'), { code: 'CONNECT_TIMEOUT' })),
      target.connectTimeoutMs,
    );
    this.timer.unref?.();
    this.open();
  }

  get readyState(): string {
    return this.destroyed ? 'closed' : 'open';
  }

  setKeepAlive(enable: boolean, delay: number): this {
    this.raw?.setKeepAlive(enable, delay);
    return this;
  }

  private get key(): string {
    return `${this.target.host}:${this.target.port}:${this.target.user}`;
  }

  /** TCP (+ TLS); the startup goes as soon as there is a socket to write to (TLS buffers it). */
  private open(): void {
    const t = this.target;
    const servername = net.isIP(t.host) ? undefined : t.host;
    const tlsOptions = {
      servername,
      rejectUnauthorized: t.tls === 'verify' || t.tls === 'verify-ca',
      // verify-ca: the chain, not the host name (libpq's meaning).
      ...(t.tls === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
      ...(t.ca ? { ca: readFileSync(t.ca) } : {}),
      minVersion: 'TLSv1.2' as const,
      // The key share goes for the first group: P-256, which PostgreSQL (through 17: ssl_ecdh_curve
      // = prime256v1) accepts. Node's default (X25519) makes such a server ask again: a round trip.
      ecdhCurve: 'P-256:X25519',
    };
    const use = (s: net.Socket) => {
      this.raw = s;
      s.setNoDelay(true);
      s.on('data', (d: Buffer) => this.received(d));
      s.on('error', (err) => this.fail(err));
      s.on('close', () => this.fail(Object.assign(new Error('the database closed the connection'), { code: 'CONNECTION_CLOSED' })));
      this.begin();
    };
    if (t.direct) {
      use(tls.connect({ host: t.host, port: t.port, ...tlsOptions, ALPNProtocols: ['postgresql'] }));
      return;
    }
    const s = net.connect({ host: t.host, port: t.port });
    s.setNoDelay(true);
    const req = Buffer.alloc(8);
    req.writeInt32BE(8, 0);
    req.writeInt32BE(SSL_REQUEST, 4);
    s.write(req);
    const failed = (err: Error) => this.fail(err);
    s.once('error', failed);
    s.once('data', (d: Buffer) => {
      s.off('error', failed);
      if (d[0] === 0x53 /* S */) return use(tls.connect({ socket: s, ...tlsOptions }));
      if (d[0] === 0x4e /* N */ && t.tls === 'prefer') return use(s);
      s.destroy();
      this.fail(Object.assign(new Error('the database does not accept TLS connections'), { code: '08001' }));
    });
  }

  /** Sends what opens the session once there is a socket and we know what to send. */
  private begin(): void {
    if (!this.raw || this.state !== 'connecting') return;
    if (this.cancel) {
      this.state = 'open';
      this.released = true;
      this.raw.write(this.cancel);
      return;
    }
    if (!this.startNow && !this.gotFirst) return;
    this.state = 'auth';
    this.guessed = this.target.password !== '' && !noGuess.has(this.key);
    this.scram = this.guessed ? new Scram(this.target.password) : undefined;
    this.raw.write(this.scram ? Buffer.concat([startupMessage(this.target), this.scram.first()]) : startupMessage(this.target));
  }

  /** Sends the authentication's last message with what postgres.js has written meanwhile. */
  private release(last?: Buffer): void {
    this.released = true;
    const out = [...(last ? [last] : []), ...this.held];
    this.held = [];
    if (out.length) this.raw!.write(Buffer.concat(out));
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    if (!this.gotFirst) {
      // postgres.js's StartupMessage (ours, the same, goes instead) or a cancel request.
      this.gotFirst = true;
      if (chunk.length >= 8 && chunk.readInt32BE(4) === CANCEL_REQUEST) this.cancel = chunk;
      // postgres.js hears "ready" at once, so its first query is here to leave with the authentication.
      else process.nextTick(() => this.push(Buffer.concat([AUTH_OK, READY])));
      this.begin();
      done();
      return;
    }
    if (this.released) {
      this.raw!.write(chunk, done);
      return;
    }
    this.held.push(chunk);
    done();
  }

  override _read(): void {
    this.raw?.resume();
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.released && this.raw) this.raw.end(done);
    else {
      this.raw?.destroy();
      done();
    }
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    clearTimeout(this.timer);
    this.raw?.removeAllListeners();
    this.raw?.on('error', () => undefined);
    this.raw?.destroy();
    done(err);
  }

  private fail(err: Error): void {
    if (this.destroyed) return;
    if (this.state === 'open' && (err as { code?: string }).code === 'CONNECTION_CLOSED') {
      // The server ended the session (after our Terminate, or its own FATAL): a plain end.
      this.push(null);
      this.destroy();
      return;
    }
    this.destroy(err);
  }

  private received(d: Buffer): void {
    if (this.state === 'open' && !this.swallowReady && this.inbox.length === 0) {
      this.push(d);
      return;
    }
    this.inbox = this.inbox.length ? Buffer.concat([this.inbox, d]) : d;
    const pass: Buffer[] = [];
    while (this.inbox.length >= 5 && !(this.state === 'open' && !this.swallowReady)) {
      const len = this.inbox.readInt32BE(1);
      if (this.inbox.length < len + 1) break;
      const msg = this.inbox.subarray(0, len + 1);
      this.inbox = this.inbox.subarray(len + 1);
      try {
        const out = this.handle(msg);
        if (out) pass.push(out);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      if (this.destroyed || !this.raw) return;
    }
    if (this.state === 'open' && !this.swallowReady && this.inbox.length) {
      pass.push(this.inbox);
      this.inbox = Buffer.alloc(0);
    }
    if (pass.length) this.push(Buffer.concat(pass));
  }

  /** One server message while authenticating: what postgres.js should see of it, if anything. */
  private handle(msg: Buffer): Buffer | undefined {
    const type = String.fromCharCode(msg[0]!);
    if (type === 'Z' && this.swallowReady) {
      this.swallowReady = false;
      clearTimeout(this.timer);
      return undefined;
    }
    // A refusal (wrong password, no such database): postgres.js fails its query with it.
    if (type === 'E' && this.state === 'auth') return Buffer.concat([msg, READY]);
    if (type !== 'R') return msg; // ParameterStatus, BackendKeyData, notices: postgres.js's
    const code = msg.readInt32BE(5);
    const body = msg.subarray(9);
    if (this.guessed && !this.sawSasl && code !== 10) {
      // Not SCRAM after all: our guess reached the server as a wrong message. Again, without it.
      noGuess.add(this.key);
      this.restart();
      return undefined;
    }
    switch (code) {
      case 0: // AuthenticationOk
        this.state = 'open';
        this.swallowReady = true;
        if (!this.released) this.release();
        return undefined;
      case 3: // cleartext password
        this.release(message('p', Buffer.from(`${this.target.password}\0`)));
        return undefined;
      case 5: {
        const inner = createHash('md5').update(this.target.password + this.target.user).digest('hex');
        const outer = createHash('md5').update(Buffer.concat([Buffer.from(inner), body.subarray(0, 4)])).digest('hex');
        this.release(message('p', Buffer.from(`md5${outer}\0`)));
        return undefined;
      }
      case 10: {
        this.sawSasl = true;
        const mechanisms = body.toString('utf8').split('\0');
        if (!mechanisms.includes('SCRAM-SHA-256')) throw new Error(`the database asks for ${mechanisms.filter(Boolean).join(', ')}, which is not supported`);
        if (!this.scram) {
          this.scram = new Scram(this.target.password);
          this.raw!.write(this.scram.first());
        }
        return undefined;
      }
      case 11:
        this.release(this.scram!.final(body.toString('utf8')));
        return undefined;
      case 12:
        if (!this.scram!.verify(body.toString('utf8'))) {
          throw Object.assign(new Error('the database did not prove it knows the password'), { code: 'SASL_SIGNATURE_MISMATCH' });
        }
        return undefined;
      default:
        throw new Error(`the database asks for authentication method ${code}, which is not supported`);
    }
  }

  /** A new connection for the same link, without the SCRAM guess. */
  private restart(): void {
    const old = this.raw!;
    old.removeAllListeners();
    old.on('error', () => undefined);
    old.destroy();
    this.raw = undefined;
    this.inbox = Buffer.alloc(0);
    this.scram = undefined;
    this.guessed = false;
    this.state = 'connecting';
    this.startNow = true;
    this.open();
  }
}

/** A link for postgres.js: eager (preconnect) or made when it connects. */
export function pgLink(target: PgLinkTarget, eager = false): PgLink {
  return new PgLink(target, eager);
}

/**
 * What the URL asks for: null when it asks for no TLS (postgres.js connects by itself, as
 * before), else the TLS mode and negotiation, and the URL without them for postgres.js.
 */
export function tlsOfUrl(url: string): { tls: TlsMode; direct: boolean; ca: string | undefined; url: string } | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const q = u.searchParams;
  const mode = q.get('sslmode') ?? q.get('ssl') ?? (q.get('sslrootcert') === 'system' ? 'verify-full' : null);
  const tlsMode: TlsMode | null =
    mode === 'require' || mode === 'true' ? 'require' : mode === 'prefer' || mode === 'allow' ? 'prefer' : mode === 'verify-ca' ? 'verify-ca' : mode === 'verify-full' ? 'verify' : null;
  if (!tlsMode || u.hostname.includes(',') || u.hostname.startsWith('%2F')) return null;
  const direct = q.get('sslnegotiation') === 'direct';
  const root = q.get('sslrootcert');
  const ca = root && root !== 'system' && tlsMode !== 'require' && tlsMode !== 'prefer' ? root : undefined;
  for (const k of ['sslmode', 'ssl', 'sslnegotiation', 'sslrootcert']) q.delete(k);
  return { tls: tlsMode, direct, ca, url: u.toString() };
}
