/** The package a frontend imports: one dependency-free ES module and its declarations. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../../scripts/build-client.ts';

let dir: string;
let files: string[];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'billing-client-build-'));
  files = await buildClient({ outDir: join(dir, 'dist'), siteDir: join(dir, 'site') });
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run build:client', () => {
  it('writes the module, its declarations and the demo site copy', () => {
    expect(files.map((f) => f.slice(dir.length + 1)).sort()).toEqual(['dist/billing-client.d.ts', 'dist/billing-client.js', 'site/billing-client.js']);
    expect(readFileSync(join(dir, 'site/billing-client.js'), 'utf8')).toBe(readFileSync(join(dir, 'dist/billing-client.js'), 'utf8'));
  });

  it('bundles no imports and no Node APIs, so a browser loads it as it is', () => {
    const js = readFileSync(join(dir, 'dist/billing-client.js'), 'utf8');
    expect(js).not.toMatch(/^\s*import\s/m);
    expect(js).not.toMatch(/\brequire\(|node:/);
    expect(js).toMatch(/export\s*\{[^}]*\bcreateBillingClient\b/);
  });

  it('declares the public types', () => {
    const dts = readFileSync(join(dir, 'dist/billing-client.d.ts'), 'utf8');
    for (const name of ['function createBillingClient', 'class BillingError', 'interface BillingClient', 'interface SubscriptionStatus', 'interface Usage', 'type AccessState']) {
      expect(dts).toContain(`export declare ${name}`.replace('declare interface', 'interface').replace('declare type', 'type'));
    }
  });

  it('works when imported from the built file', async () => {
    const mod = (await import(pathToFileURL(join(dir, 'dist/billing-client.js')).href)) as typeof import('../../client/billing-client.ts');
    const billing = mod.createBillingClient({
      getToken: () => 't',
      fetch: async () => new Response('{"success":false,"data":null,"error":{"code":"FORBIDDEN","message":"Insufficient permissions","requestId":"r1"}}', { status: 403 }),
    });
    const err = await billing.createPortal().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(mod.BillingError);
    expect(err).toMatchObject({ code: 'FORBIDDEN', status: 403, requestId: 'r1' });
  });
});
