/**
 * Unknown paths under /api/stripe/ and /api/billing/ reach the not-found function on every
 * platform, and never shadow an endpoint: Netlify's catch-all excludes every endpoint path,
 * Lambda routes it as the greedy {proxy+} of both families, and the local server uses it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { serve } from '../dev/serve.ts';
import subscription from '../functions/subscription.ts';
import { handler as lambdaNotFound } from '../lambda/not-found.ts';
import { config as catchAll } from '../netlify/functions/not-found.mts';
import { invoke, KINDS } from './lambda/events.ts';

const ROOT = join(import.meta.dirname, '..');

describe('unknown paths', () => {
  it('Netlify: the catch-all covers both families and excludes every path an endpoint declares', async () => {
    expect(catchAll.path).toEqual(['/api/stripe/*', '/api/billing/*']);
    const declared: string[] = [];
    for (const file of readdirSync(join(ROOT, 'netlify/functions')).filter((f) => f.endsWith('.mts') && f !== 'not-found.mts')) {
      const { config } = (await import(`../netlify/functions/${file}`)) as { config: { path?: string | string[] } };
      declared.push(...[config.path ?? []].flat());
    }
    expect(declared.length).toBeGreaterThanOrEqual(10);
    expect([...[catchAll.excludedPath ?? []].flat()].sort()).toEqual(declared.sort());
  });

  it.each(KINDS)('Lambda (%s): answers 404 in the dialect of the path', async (kind) => {
    const flat = await invoke(lambdaNotFound, kind, { method: 'GET', path: '/api/stripe/subscriptions' });
    expect(flat.status).toBe(404);
    expect(flat.body).toMatchObject({ code: 'NOT_FOUND', requestId: flat.headers['x-request-id'] });
    const envelope = await invoke(lambdaNotFound, kind, { method: 'POST', path: '/api/billing/a/b' });
    expect(envelope.body).toMatchObject({ success: false, data: null, error: { code: 'NOT_FOUND' } });
  });

  it('Lambda: template.yaml routes the greedy path of both families to the not-found function', () => {
    const template = parse(readFileSync(join(ROOT, 'template.yaml'), 'utf8'));
    const fn = template.Resources.NotFoundFunction.Properties;
    expect(fn.CodeUri).toBe('dist/lambda/not-found/');
    const routes = Object.values(fn.Events as Record<string, { Properties: { Path: string; Method: string } }>);
    expect(routes.map((r) => `${r.Properties.Method} ${r.Properties.Path}`).sort()).toEqual([
      'ANY /api/billing/{proxy+}', 'ANY /api/stripe/{proxy+}',
    ]);
  });

  it('the local server: unknown API paths get the same JSON 404, endpoints still answer', async () => {
    const app = await serve({ '/api/stripe/subscription': subscription });
    try {
      const res = await fetch(`${app.url}/api/stripe/nope`, { headers: { origin: 'https://site.example' } });
      expect(res.status).toBe(404);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(await res.json()).toMatchObject({ code: 'NOT_FOUND' });
      expect((await fetch(`${app.url}/api/stripe/subscription`)).status).toBe(401);
    } finally {
      await app.close();
    }
  });
});
