/**
 * npm run build:client: the browser client as a package a frontend can import.
 *
 *   client/dist/billing-client.js     ES module, no imports (esbuild)
 *   client/dist/billing-client.d.ts   its types (TypeScript's declaration emit)
 *   public/lib/billing-client.js      the same module, for the demo site
 *
 * `npm run dev` runs this too (JS only) so the demo site always has the current client;
 * both outputs are build products and ignored by git.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLIENT_ENTRY = join(ROOT, 'client/billing-client.ts');

export interface BuildClientOptions {
  /** Default client/dist. */
  outDir?: string;
  /** Where the demo site loads it from (default public/lib); null: do not copy. */
  siteDir?: string | null;
  /** Emit the .d.ts too (default true; about a second, so `npm run dev` skips it). */
  declarations?: boolean;
}

export async function buildClient(opts: BuildClientOptions = {}): Promise<string[]> {
  const outDir = opts.outDir ?? join(ROOT, 'client/dist');
  const siteDir = opts.siteDir === undefined ? join(ROOT, 'public/lib') : opts.siteDir;
  const js = join(outDir, 'billing-client.js');
  await build({
    entryPoints: [CLIENT_ENTRY],
    outfile: js,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Browsers of the last few years; nothing newer than optional chaining is needed.
    target: 'es2020',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files = [js];
  if (opts.declarations ?? true) files.push(emitDeclaration(outDir));
  if (siteDir) {
    mkdirSync(siteDir, { recursive: true });
    const copy = join(siteDir, 'billing-client.js');
    copyFileSync(js, copy);
    files.push(copy);
  }
  return files;
}

function emitDeclaration(outDir: string): string {
  const program = ts.createProgram([CLIENT_ENTRY], {
    declaration: true,
    emitDeclarationOnly: true,
    outDir,
    rootDir: dirname(CLIENT_ENTRY),
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    allowImportingTsExtensions: true,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    // The client runs in browsers: it must not lean on Node's types.
    types: [],
    strict: true,
    skipLibCheck: true,
  });
  // Only the entry's declarations: what it imports privately (session-token.ts) is bundled, not public.
  const dts = join(outDir, 'billing-client.d.ts');
  const result = program.emit(undefined, (file, text) => {
    if (resolve(file) === dts) ts.sys.writeFile(file, text);
  });
  const problems = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
  if (problems.length > 0) {
    const host = { getCanonicalFileName: (f: string) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' };
    throw new Error(`client declarations:\n${ts.formatDiagnostics(problems, host)}`);
  }
  return dts;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  for (const file of await buildClient()) {
    console.log(`${relative(ROOT, file).padEnd(36)} ${(statSync(file).size / 1024).toFixed(1)} KiB`);
  }
}
