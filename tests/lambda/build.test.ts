/**
 * scripts/build-lambda.ts: bundles every function, each with only what it imports, and a
 * bundle runs on plain Node as Lambda runs it (a separate process importing index.mjs,
 * nothing from this repository's node_modules or TypeScript sources).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLambdas, discoverFunctions, type BundleResult } from '../../scripts/build-lambda.ts';
import { startStack, tokenFor, uid, type Stack } from '../helpers/stack.ts';
import { eventFor, readResult } from './events.ts';

const run = promisify(execFile);
const outdir = mkdtempSync(join(tmpdir(), 'billing-lambda-build-'));
let stack: Stack;
let bundles: BundleResult[];

beforeAll(async () => {
  stack = await startStack();
  bundles = await buildLambdas({ outdir });
}, 120_000);
afterAll(async () => {
  await stack.stop();
  rmSync(outdir, { recursive: true, force: true });
});

const bundle = (name: string) => bundles.find((b) => b.name === name)!;

describe('build:lambda', () => {
  it('writes dist/lambda/<name>/index.mjs and its source map for every function', () => {
    expect(bundles.map((b) => b.name).sort()).toEqual(discoverFunctions().map((f) => f.name));
    for (const b of bundles) {
      expect(b.file).toBe(join(outdir, b.name, 'index.mjs'));
      expect(existsSync(`${b.file}.map`), b.name).toBe(true);
      expect(b.bytes, b.name).toBeGreaterThan(1000);
    }
  });

  it('keeps stripe out of the bundles that never call Stripe, and in those that do', () => {
    // GET subscription never loads it; POST subscription (a plan change) loads it from a lazy chunk.
    expect(bundle('subscription').loadedPackages).not.toContain('stripe');
    expect(bundle('subscription').packages).toContain('stripe');
    for (const name of ['checkout', 'portal', 'webhook', 'reconcile-nightly']) expect(bundle(name).packages, name).toContain('stripe');
    // Every input of the subscription bundle is something it imports, starting at its entry.
    const inputs = Object.keys(bundle('subscription').metafile.inputs);
    expect(inputs.some((i) => i.endsWith('functions/subscription.ts'))).toBe(true);
    expect(inputs.some((i) => /functions\/(checkout|portal|webhook)\.ts$/.test(i))).toBe(false);
  });

  it('a bundle imported by plain Node answers a Function URL event against the real database', async () => {
    const user = uid('u');
    const event = eventFor('function-url', {
      method: 'GET',
      path: '/api/billing/subscription',
      headers: [['authorization', `Bearer ${await tokenFor({ sub: user })}`]],
      requestId: 'bundle-req-1',
    });
    const script =
      `const { handler } = await import(${JSON.stringify(bundle('subscription').file)});` +
      `const result = await handler(JSON.parse(process.env.EVENT), { awsRequestId: 'aws-bundle-1' });` +
      // The pooled database connection would keep the process alive, as it does a warm Lambda.
      `process.stdout.write(JSON.stringify(result)); process.exit(0);`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: outdir,
      env: { ...process.env, EVENT: JSON.stringify(event), LOG_LEVEL: 'silent' },
      timeout: 20_000,
    });
    const res = readResult(JSON.parse(stdout));
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('bundle-req-1');
    expect(res.body).toMatchObject({ success: true, data: { accountId: `user:${user}`, state: 'none' } });
  });
});
