/**
 * index.ts of a generated package, written with ts-morph rather than by string pasting so the
 * output is a syntax tree printed one way (formatting, quoting, import order) every time. It is
 * the typed entry users import: what the package was compiled for, and `load` / `generate`,
 * which hand the package folder to the runtime (runtime/src/index.ts).
 */
import { createRequire } from 'node:module';
import type * as TsMorph from 'ts-morph';

/** Everything index.ts says: plain data known before the compile, so that a worker thread can write it meanwhile (index-writer.ts). */
export interface IndexFacts {
  readonly model: string;
  readonly target: string;
  readonly arch: string;
  readonly actQuant: 'fp8' | 'none';
  readonly disabledPasses: readonly string[];
  /** The ranks the package runs as (tensor × expert parallel; tp = ep = 1: one device). */
  readonly mesh: { readonly tp: number; readonly ep: number };
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly header: string;
}

// ts-morph loads the TypeScript compiler (~0.3 s): required when a package is written, not by
// every command that imports this module.
const require = createRequire(import.meta.url);

export function indexSource(facts: IndexFacts): string {
  const { IndentationText, NewLineKind, Project, QuoteKind, VariableDeclarationKind } = require('ts-morph') as typeof TsMorph;
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: { indentationText: IndentationText.TwoSpaces, newLineKind: NewLineKind.LineFeed, quoteKind: QuoteKind.Single },
  });
  const file = project.createSourceFile('index.ts', '', { overwrite: true });

  file.addImportDeclaration({ moduleSpecifier: 'node:url', namedImports: ['fileURLToPath'] });
  file.addImportDeclaration({ moduleSpecifier: 'dsv3c/runtime', isTypeOnly: true, namedImports: ['GenerateOptions', 'GeneratedToken', 'LoadOptions', 'ModelSession'] });
  file.addImportDeclaration({ moduleSpecifier: 'dsv3c/runtime', namedImports: ['loadModel'] });

  file.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['This folder: plan.json, manifest.json, kernels/ and (after --build) build/.'],
    declarations: [{ name: 'packageDir', initializer: "fileURLToPath(new URL('.', import.meta.url))" }],
  });
  const { header, ...info } = facts;
  file.addVariableStatement({
    isExported: true,
    declarationKind: VariableDeclarationKind.Const,
    docs: ['What this package was compiled for.'],
    declarations: [{ name: 'compiledFor', initializer: `${JSON.stringify(info, null, 2).replace(/"([A-Za-z_]\w*)":/g, '$1:').replace(/"/g, "'")} as const` }],
  });
  file.addFunction({
    isExported: true,
    isAsync: true,
    name: 'load',
    docs: ['Loads the checkpoint folder `modelDir` (config.json, safetensors shards, tokenizer.json) onto the device this package targets.'],
    parameters: [
      { name: 'modelDir', type: 'string' },
      { name: 'options', type: 'LoadOptions', initializer: '{}' },
    ],
    returnType: 'Promise<ModelSession>',
    statements: ['return loadModel(packageDir, modelDir, options);'],
  });
  file.addFunction({
    isExported: true,
    isAsync: true,
    isGenerator: true,
    name: 'generate',
    docs: ['Loads, streams the tokens generated for one prompt, and releases the model.'],
    parameters: [
      { name: 'modelDir', type: 'string' },
      { name: 'prompt', type: 'string | readonly number[]' },
      { name: 'options', type: 'GenerateOptions & LoadOptions', initializer: '{}' },
    ],
    returnType: 'AsyncGenerator<GeneratedToken>',
    statements: ['const session = await load(modelDir, options);', 'try {', '  yield* session.generate(prompt, options);', '} finally {', '  session.dispose();', '}'],
  });
  file.formatText({ indentSize: 2, convertTabsToSpaces: true });
  return `${header}\n${file.getFullText()}`;
}
