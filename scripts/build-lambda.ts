/**
 * npm run build:lambda: one esbuild bundle per function, for AWS Lambda (template.yaml
 * points each function's CodeUri at its folder):
 *
 *   dist/lambda/<name>/index.mjs (+ .map)   handler: index.handler
 *
 * Functions are discovered, not listed: every `functions/<name>.ts` is an HTTP function
 * (its entry is `lambda/<name>.ts`, or the standard two-line wrapper when that file does
 * not exist), and every other `lambda/<name>.ts` is a scheduled job. Each bundle holds only
 * what its entry imports; the packages in each are printed so a heavy import shows.
 *
 * ESM, because the code is ESM (top-level await and import.meta work as in development);
 * `.mjs` makes Lambda's Node load it as such without a package.json beside it.
 */
import { build, type Metafile } from 'esbuild';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface LambdaFunction {
  name: string;
  kind: 'http' | 'scheduled';
  /** lambda/<name>.ts, or null when the build generates the standard HTTP wrapper. */
  entry: string | null;
}

const tsNames = (dir: string) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'))
        .map((f) => f.slice(0, -3))
        .sort()
    : [];

export function discoverFunctions(root = ROOT): LambdaFunction[] {
  const http = new Set(tsNames(join(root, 'functions')));
  const entries = new Set(tsNames(join(root, 'lambda')));
  const all = [...new Set([...http, ...entries])].sort();
  return all.map((name) => ({
    name,
    kind: http.has(name) ? 'http' : 'scheduled',
    entry: entries.has(name) ? join(root, 'lambda', `${name}.ts`) : null,
  }));
}

export interface BundleResult {
  name: string;
  file: string;
  /** What a cold start loads: the entry and its static imports. */
  bytes: number;
  gzipBytes: number;
  /** Every chunk, including those loaded on first use (rate limiter, supabase-js). */
  totalBytes: number;
  /** npm packages in the bundle (from esbuild's metafile). */
  packages: string[];
  /** npm packages in what a cold start loads (the outputs counted in `bytes`). */
  loadedPackages: string[];
  /** Bytes of what a cold start loads, by package ("(ours)" for this repository's code), largest first. */
  loadedBytesByPackage: Record<string, number>;
  metafile: Metafile;
}

/** "node_modules/@scope/pkg/x.js" -> "@scope/pkg"; the innermost node_modules wins; undefined outside node_modules. */
function packageOf(inputPath: string): string | undefined {
  return /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(inputPath)?.[1];
}

/** The npm packages among these input paths, each once, sorted. */
const sortedPackages = (inputs: readonly string[]) =>
  [...new Set(inputs.map(packageOf).filter((p): p is string => p !== undefined))].sort();

/** The npm packages in a bundle (its metafile's inputs). */
function packagesOf(metafile: Metafile): string[] {
  return sortedPackages(Object.keys(metafile.inputs));
}

/** The output files a cold start loads: the entry and what it imports statically. */
function staticClosure(metafile: Metafile, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const i of metafile.outputs[f]?.imports ?? []) if (i.kind === 'import-statement' && !i.external) visit(i.path);
  };
  visit(entry);
  return [...seen];
}

// Some CommonJS dependencies call require() for Node built-ins; an ES module has no
// require of its own, so the bundle gets one.
const REQUIRE_SHIM = "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);";

export async function buildLambdas(opts: { root?: string; outdir?: string } = {}): Promise<BundleResult[]> {
  const root = opts.root ?? ROOT;
  const outdir = opts.outdir ?? join(root, 'dist', 'lambda');
  const fns = discoverFunctions(root);
  rmSync(outdir, { recursive: true, force: true }); // no stale functions left behind
  return Promise.all(
    fns.map(async (fn): Promise<BundleResult> => {
      const dir = join(outdir, fn.name);
      const file = join(dir, 'index.mjs');
      const source = fn.entry
        ? { entryPoints: [fn.entry] }
        : {
            stdin: {
              contents:
                `import h from './functions/${fn.name}.ts';\n` +
                `import { toLambda } from './shared/lambda.ts';\n` +
                `export const handler = toLambda(h);\n`,
              resolveDir: root,
              sourcefile: `lambda/${fn.name}.ts (generated)`,
              loader: 'ts' as const,
            },
          };
      const result = await build({
        ...source,
        // Code behind a dynamic import (supabase-js, used only when configured) goes to a
        // chunk that is loaded on first use, so it costs nothing at cold start otherwise.
        outdir: dir,
        splitting: true,
        entryNames: 'index',
        chunkNames: 'chunks/[name]-[hash]',
        outExtension: { '.js': '.mjs' },
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'esm',
        minify: true,
        sourcemap: true,
        legalComments: 'none',
        banner: { js: REQUIRE_SHIM },
        metafile: true,
        logLevel: 'warning',
      });
      const loaded = staticClosure(result.metafile, relative(process.cwd(), file));
      const code = Buffer.concat(loaded.map((f) => readFileSync(resolve(process.cwd(), f))));
      const loadedInputs = loaded.flatMap((f) => Object.entries(result.metafile.outputs[f]?.inputs ?? {}));
      const byPackage: Record<string, number> = {};
      for (const [input, { bytesInOutput }] of loadedInputs) {
        const name = packageOf(input) ?? '(ours)';
        byPackage[name] = (byPackage[name] ?? 0) + bytesInOutput;
      }
      return {
        name: fn.name,
        file,
        bytes: code.length,
        gzipBytes: gzipSync(code).length,
        totalBytes: Object.entries(result.metafile.outputs).filter(([f]) => f.endsWith('.mjs')).reduce((n, [, o]) => n + o.bytes, 0),
        packages: packagesOf(result.metafile),
        loadedPackages: sortedPackages(loadedInputs.map(([input]) => input)),
        loadedBytesByPackage: Object.fromEntries(Object.entries(byPackage).sort((a, b) => b[1] - a[1])),
        metafile: result.metafile,
      };
    }),
  );
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`.padStart(9);

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const started = Date.now();
  const results = await buildLambdas();
  for (const r of results) {
    console.log(`${r.name.padEnd(20)} ${kb(r.bytes)} at import (${kb(r.gzipBytes).trim()} gzipped), ${kb(r.totalBytes).trim()} with lazy chunks  ${relative(ROOT, r.file)}`);
    console.log(`${''.padEnd(20)} packages: ${r.packages.join(', ') || '(none)'}`);
  }
  console.log(`built ${results.length} function(s) in ${Date.now() - started} ms`);
}
