/**
 * The generated package as users use it: a folder with dsv3c installed beside it
 * (node_modules/dsv3c, here a link to this checkout, as `npm install` would make), whose index.ts
 * typechecks against the runtime's types and, imported, loads a tiny checkpoint and generates.
 */
import { mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { cpuPackage, makeTinyModel, tempRoot } from './tiny-model.ts';

describe('a generated package', () => {
  it('typechecks, imports and generates', async () => {
    const root = tempRoot('dsv3c-index-');
    const model = await makeTinyModel('tiny-moe-128', root);
    const pkg = await cpuPackage(model, 'fp8', root);
    mkdirSync(join(pkg, 'node_modules'));
    symlinkSync(resolve('.'), join(pkg, 'node_modules', 'dsv3c'), 'dir');

    const program = ts.createProgram([join(pkg, 'index.ts')], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      allowImportingTsExtensions: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [resolve('node_modules/@types')],
    });
    const problems = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName.endsWith('index.ts') && d.file.fileName.startsWith(pkg));
    expect(problems.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'))).toEqual([]);

    const index = await import(pathToFileURL(join(pkg, 'index.ts')).href);
    expect(index.compiledFor.target).toBe('cpu');
    expect(index.compiledFor.vocabSize).toBe(model.config.vocabSize);
    const ids: number[] = [];
    for await (const t of index.generate(model.checkpoint, 'hello', { maxNewTokens: 5, progress: false, maxContext: 64 })) ids.push(t.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThanOrEqual(5);
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(0);
  }, 300_000);
});
