// The GPU bundle's JS: benchmarks/gpu-check/entry.ts (gpu-check + the dsv3c CLI) as one ESM file
// for node20, no node_modules beside it. Run by scripts/gpu-bundle.sh: node benchmarks/gpu-check/esbuild.mjs OUTFILE
import { build } from 'esbuild';

// ts-morph (with TypeScript, ~10 MB) only writes a package's index.ts: packages are written on the
// development machine, so the bundle gets a stub that says so if anything calls it.
const stubTsMorph = {
  name: 'stub-ts-morph',
  setup(b) {
    b.onResolve({ filter: /^ts-morph$/ }, () => ({ path: 'ts-morph', namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
      contents: `const no = () => { throw new Error('ts-morph is not in the GPU bundle: write packages (dsv3c compile --target) on the development machine'); };
export class Project { constructor() { no(); } }
export const IndentationText = {}, NewLineKind = {}, QuoteKind = {}, VariableDeclarationKind = {};`,
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: ['benchmarks/gpu-check/entry.ts'],
  outfile: process.argv[2],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  plugins: [stubTsMorph],
  // CommonJS dependencies (commander, handlebars) call require() on Node built-ins and may read __filename.
  banner: {
    js: [
      "import { createRequire as __dsv3cRequire } from 'node:module';",
      "import { fileURLToPath as __dsv3cPath } from 'node:url';",
      'const require = __dsv3cRequire(import.meta.url);',
      'const __filename = __dsv3cPath(import.meta.url);',
      "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
    ].join(' '),
  },
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  legalComments: 'none',
});
