/**
 * dev/listen-host.mjs, preloaded into netlify dev by `npm run dev`: servers that listen
 * without naming a host listen on 127.0.0.1 (the development JWT secret is public), or on
 * DEV_HOST when it is set; a host the code names itself is kept.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const PRELOAD = `--import=${pathToFileURL(join(import.meta.dirname, '..', 'dev', 'listen-host.mjs')).href}`;

// Each form netlify-cli and its dependencies use; the child prints where each server listens.
const SERVERS = `
const net = require('node:net');
const http = require('node:http');
const forms = [
  (s, cb) => s.listen(cb),
  (s, cb) => s.listen(0, cb),
  (s, cb) => s.listen('0', cb),
  (s, cb) => s.listen({ port: 0 }, cb),
  (s, cb) => s.listen(0, '::1', cb),
];
Promise.all(forms.map((form, i) => new Promise((resolve) => {
  const server = i % 2 ? http.createServer() : net.createServer();
  form(server, () => { const a = server.address(); server.close(); resolve(a.address); });
}))).then((hosts) => console.log(JSON.stringify(hosts)));
`;

function addresses(env: Record<string, string | undefined>, preload = true): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const args = [...(preload ? [PRELOAD] : []), '-e', SERVERS];
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`exit ${code}`))));
  });
}

describe('npm run dev listens on localhost unless told otherwise', () => {
  it('binds every server that names no host to 127.0.0.1, and keeps a host the code names', async () => {
    expect(await addresses({ DEV_HOST: undefined })).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '::1']);
  });

  it('binds them to DEV_HOST when it is set', async () => {
    expect(await addresses({ DEV_HOST: '0.0.0.0' })).toEqual(['0.0.0.0', '0.0.0.0', '0.0.0.0', '0.0.0.0', '::1']);
  });

  it('without the preload, the same servers listen on every interface (what it prevents)', async () => {
    const hosts = await addresses({ DEV_HOST: undefined }, false);
    expect(hosts.slice(0, 4).every((h) => h === '::' || h === '0.0.0.0')).toBe(true);
  });
});
