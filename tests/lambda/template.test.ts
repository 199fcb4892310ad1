/**
 * template.yaml against the code: one function per discovered function (functions/*.ts
 * and lambda/*.ts), each endpoint routed on both path families with OPTIONS, scheduled
 * jobs on schedules, and every production setting of .env.example wired to a parameter
 * (secrets NoEcho). A new endpoint or variable fails here until the template has it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { discoverFunctions, ROOT } from '../../scripts/build-lambda.ts';

interface Event {
  Type: string;
  Properties: Record<string, string>;
}
interface Resource {
  Type: string;
  Properties: { CodeUri?: string; Runtime?: string; Handler?: string; Events?: Record<string, Event> };
}
interface Template {
  Transform: string;
  Parameters: Record<string, { Type: string; NoEcho?: boolean; Default?: string }>;
  Globals: { Function: { Runtime: string; Handler: string; Environment: { Variables: Record<string, string | { Ref: string }> } } };
  Resources: Record<string, Resource>;
}

const template = parse(readFileSync(join(ROOT, 'template.yaml'), 'utf8')) as Template;
const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Serverless::Function');

/** The function name a template function deploys: its CodeUri is dist/lambda/<name>/. */
function nameOf(resource: Resource): string {
  const m = /^dist\/lambda\/([a-z0-9-]+)\/?$/.exec(resource.Properties.CodeUri ?? '');
  if (!m) throw new Error(`CodeUri ${resource.Properties.CodeUri} is not dist/lambda/<name>/`);
  return m[1]!;
}

describe('template.yaml', () => {
  it('is a SAM template on Node 20 or newer, handler index.handler', () => {
    expect(template.Transform).toBe('AWS::Serverless-2016-10-31');
    for (const [id, r] of functions) {
      const runtime = r.Properties.Runtime ?? template.Globals.Function.Runtime;
      expect(Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]), id).toBeGreaterThanOrEqual(20);
      expect(r.Properties.Handler ?? template.Globals.Function.Handler, id).toBe('index.handler');
    }
  });

  it('has exactly one function per discovered function, and no other', () => {
    const deployed = functions.map(([, r]) => nameOf(r)).sort();
    expect(deployed).toEqual(discoverFunctions().map((f) => f.name));
    expect(new Set(deployed).size).toBe(deployed.length);
  });

  it('routes each endpoint on /api/stripe/<name> and /api/billing/<name>, OPTIONS included', () => {
    for (const fn of discoverFunctions().filter((f) => f.kind === 'http')) {
      const [id, resource] = functions.find(([, r]) => nameOf(r) === fn.name)!;
      const routes = Object.values(resource.Properties.Events ?? {}).filter((e) => e.Type === 'HttpApi' || e.Type === 'Api');
      const paths = [...new Set(routes.map((e) => e.Properties.Path))].sort();
      // not-found serves every other path of both families (tests/not-found-routes.test.ts).
      const expected = fn.name === 'not-found' ? ['/api/billing/{proxy+}', '/api/stripe/{proxy+}'] : [`/api/billing/${fn.name}`, `/api/stripe/${fn.name}`];
      expect(paths, id).toEqual(expected);
      for (const path of paths) {
        const methods = routes.filter((e) => e.Properties.Path === path).map((e) => e.Properties.Method?.toUpperCase());
        expect(methods.includes('ANY') || methods.includes('OPTIONS'), `${id} ${path} must route OPTIONS`).toBe(true);
      }
    }
  });

  it('runs each scheduled job on an EventBridge schedule, and routes no HTTP to it', () => {
    for (const fn of discoverFunctions().filter((f) => f.kind === 'scheduled')) {
      const [id, resource] = functions.find(([, r]) => nameOf(r) === fn.name)!;
      const events = Object.values(resource.Properties.Events ?? {});
      const schedules = events.filter((e) => e.Type === 'Schedule' || e.Type === 'ScheduleV2');
      expect(schedules.length, id).toBeGreaterThan(0);
      for (const s of schedules) expect(s.Properties.Schedule ?? s.Properties.ScheduleExpression, id).toMatch(/^(cron|rate)\(.+\)$/);
      expect(events.filter((e) => e.Type === 'HttpApi' || e.Type === 'Api'), id).toEqual([]);
    }
  });

  it('sets every production variable of .env.example from a parameter; secrets are NoEcho', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const documented = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!);
    // Not for production: the double's address (refused there), and an alias of JWT_SECRET.
    const notInProduction = new Set(['STRIPE_API_BASE', 'SUPABASE_JWT_SECRET']);
    const env = template.Globals.Function.Environment.Variables;
    expect(documented.length).toBeGreaterThan(20);
    for (const name of documented.filter((n) => !notInProduction.has(n))) expect(env, name).toHaveProperty(name);
    expect(env).not.toHaveProperty('STRIPE_API_BASE');
    expect(env.NODE_ENV).toBe('production');

    const used = new Set<string>();
    for (const [name, value] of Object.entries(env)) {
      if (typeof value === 'string') continue; // fixed values (NODE_ENV)
      expect(template.Parameters, name).toHaveProperty(value.Ref);
      used.add(value.Ref);
      if (/SECRET|_KEY$|TOKEN|^DATABASE_URL$/.test(name)) expect(template.Parameters[value.Ref]!.NoEcho, `${name} is a secret`).toBe(true);
    }
    expect(Object.keys(template.Parameters).filter((p) => !used.has(p))).toEqual([]);
  });
});
