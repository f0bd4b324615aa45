// The CLI as plain JavaScript: compiler/cli/main.ts (and the index.ts worker) bundled by esbuild
// into dist/cli/. Running the TypeScript through tsx costs about 0.3 s a command (loader thread,
// per-file transforms); the bundle starts in under 0.1 s. bin/dsv3c.js runs the bundle when it is
// at least as new as every source it was made from, rebuilds it when it is not, and falls back to
// tsx when it cannot (a read-only install, a syntax error: tsx then reports it properly).
// commander and handlebars, which every command loads, are bundled in (their many small CommonJS
// files cost ~20 ms a start); other npm packages stay outside (resolved from node_modules as
// usual): ts-morph for the index.ts worker, the tokenizer and chat template for `run`, the build
// tools. The kernel templates are precompiled beside it (templates.cjs): compiling them took
// ~50 ms of every compile.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'cli');
const stampFile = path.join(outDir, 'inputs.json');
const EXTERNAL = ['ts-morph', '@huggingface/*', 'tsx', 'tsx/*', 'esbuild', 'cmake-js', 'source-map'];
const ENTRIES = { main: 'compiler/cli/main.ts', 'index-source-worker': 'compiler/package/index-source-worker.ts' };

/** dist/cli/main.mjs when no source it was built from changed since; else undefined. */
export function freshBundle() {
  let stamp;
  try {
    stamp = statSync(stampFile).mtimeMs;
    const { inputs } = JSON.parse(readFileSync(stampFile, 'utf8'));
    for (const input of inputs) if (statSync(path.join(root, input)).mtimeMs > stamp) return undefined;
  } catch {
    return undefined; // no bundle, or a source it names is gone
  }
  return path.join(outDir, 'main.mjs');
}

/** Builds dist/cli/ (each file written beside and renamed, the stamp last); returns main.mjs. */
export async function buildBundle() {
  const { build } = await import('esbuild');
  const tag = `${process.pid}.${Date.now().toString(36)}.tmp`;
  const staging = path.join(root, 'dist', `.cli.${tag}`);
  try {
    const result = await build({
      absWorkingDir: root,
      entryPoints: ENTRIES,
      outdir: staging,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      external: EXTERNAL,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
      // The bundled CommonJS packages call require(), which an ES module lacks.
      banner: { js: ['// dsv3c CLI bundle made by scripts/cli-bundle.mjs from compiler/ and runtime/src/: do not edit', "import { createRequire as __dsv3cRequire } from 'node:module';", 'const require = __dsv3cRequire(import.meta.url);'].join('\n') },
    });
    const templates = await precompileTemplates(path.join(staging, 'templates.cjs'));
    const inputs = [...Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules')), ...templates].sort();
    mkdirSync(outDir, { recursive: true });
    for (const name of [...Object.keys(ENTRIES).map((e) => `${e}.mjs`), 'templates.cjs']) renameSync(path.join(staging, name), path.join(outDir, name));
    writeFileSync(`${stampFile}.${tag}`, `${JSON.stringify({ inputs }, null, 1)}\n`);
    renameSync(`${stampFile}.${tag}`, stampFile);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return path.join(outDir, 'main.mjs');
}

/**
 * Writes every templates/ .hbs file precompiled by Handlebars (with the options of
 * compiler/codegen/render.ts) as one CommonJS module keyed by its path under templates/;
 * returns the template paths, inputs of the bundle's freshness stamp.
 */
async function precompileTemplates(file) {
  const { default: Handlebars } = await import('handlebars');
  const dir = path.join(root, 'templates');
  const files = readdirSync(dir, { recursive: true })
    .map((f) => String(f).split(path.sep).join('/'))
    .filter((f) => f.endsWith('.hbs'))
    .sort();
  const specs = files.map((f) => `  ${JSON.stringify(f)}: ${Handlebars.precompile(readFileSync(path.join(dir, f), 'utf8'), TEMPLATE_OPTIONS)},`);
  writeFileSync(file, ['// dsv3c kernel templates precompiled by scripts/cli-bundle.mjs from templates/: do not edit', 'module.exports = {', ...specs, '};', ''].join('\n'));
  return files.map((f) => `templates/${f}`);
}

/** As compiler/codegen/render.ts compiles templates (strict: a missing field is an error; C, not HTML). */
const TEMPLATE_OPTIONS = { strict: true, noEscape: true };
