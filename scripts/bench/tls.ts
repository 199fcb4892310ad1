/**
 * TLS for the cold-path benchmark, with nothing but Node: a self-signed certificate made at
 * start (ECDSA P-256, for localhost and 127.0.0.1; no `openssl` binary needed), and a TLS
 * front that terminates TLS and passes the bytes to a plain local server, as a load
 * balancer does in front of Upstash's or Stripe's API. The function process trusts the
 * certificate through NODE_EXTRA_CA_CERTS.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';

// --- a little DER ---
const len = (n: number): Buffer => {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
};
const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const parts: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      parts.unshift(v % 128);
      if (v < 128) break;
    }
    out.push(...parts.map((p, i) => (i < parts.length - 1 ? p | 0x80 : p)));
  }
  return tlv(0x06, Buffer.from(out));
};
const utcTime = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`));
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));

export interface SelfSigned {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

/** A self-signed certificate for localhost and 127.0.0.1, valid a day, written to `dir` (key 0600). */
export function selfSignedCertificate(dir: string): SelfSigned {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serial = randomBytes(8);
  serial[0]! &= 0x7f;
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const now = Date.now();
  const san = seq(tlv(0x82, Buffer.from('localhost')), tlv(0x87, Buffer.from([127, 0, 0, 1])));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq(tlv(0x01, Buffer.from([0xff]))))), // CA: it signs itself
      seq(oid('2.5.29.17'), tlv(0x04, san)),
    ),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))), // v3
    tlv(0x02, serial),
    ecdsaSha256,
    name('billing bench'),
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 86_400_000))),
    name('billing bench'),
    publicKey.export({ type: 'spki', format: 'der' }),
    extensions,
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaSha256, tlv(0x03, Buffer.from([0]), signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyFile = join(dir, 'server.key');
  const certFile = join(dir, 'server.crt');
  writeFileSync(keyFile, key, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, cert, { mode: 0o644 });
  return { key, cert, keyFile, certFile };
}

export interface TlsFront {
  port: number;
  close(): Promise<void>;
}

/** HTTPS in front of a plain HTTP server on 127.0.0.1:`targetPort` (TLS 1.3). */
export async function startTlsFront(opts: { targetPort: number; cert: SelfSigned }): Promise<TlsFront> {
  const open = new Set<net.Socket>();
  const server = tls.createServer({ key: opts.cert.key, cert: opts.cert.cert, minVersion: 'TLSv1.3', ALPNProtocols: ['http/1.1'] }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: opts.targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => (s === client ? upstream : client).destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}
