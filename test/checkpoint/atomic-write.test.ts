import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFolderAtomically } from '../../compiler/checkpoint/atomic-write.ts';
import { CheckpointError } from '../../compiler/checkpoint/checkpoint-error.ts';
import { makeTiny, tempFolder, TINY_CONFIGS } from './helpers.ts';

const tmp = tempFolder('atomic');
afterAll(tmp.cleanup);

const good = (name: string) => ({ name, write: async (h: import('node:fs/promises').FileHandle) => void (await h.writeFile(name)) });
const failing = { name: 'bad', write: async (h: import('node:fs/promises').FileHandle) => {
  await h.writeFile('half of it');
  throw new Error('disk full (simulated)');
} };

describe('writeFolderAtomically', () => {
  it('writes all files', async () => {
    const dir = join(tmp.dir, 'ok', 'nested');
    await writeFolderAtomically(dir, [good('a'), good('b')]);
    expect(readdirSync(dir).sort()).toEqual(['a', 'b']);
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('b');
  });

  it('leaves no folder behind when a write fails in a folder it created', async () => {
    const dir = join(tmp.dir, 'new', 'deeper');
    await expect(writeFolderAtomically(dir, [good('a'), failing, good('c')])).rejects.toThrow('disk full');
    expect(existsSync(join(tmp.dir, 'new'))).toBe(false);
  });

  it('leaves an existing empty folder empty when a write fails', async () => {
    const dir = join(tmp.dir, 'empty');
    mkdirSync(dir);
    await expect(writeFolderAtomically(dir, [good('a'), failing])).rejects.toThrow('disk full');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a folder that is not empty, and leaves it alone', async () => {
    const dir = join(tmp.dir, 'full');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep'), 'x');
    await expect(writeFolderAtomically(dir, [good('a')])).rejects.toThrow(CheckpointError);
    expect(readdirSync(dir)).toEqual(['keep']);
  });

  it('makes make-tiny refuse to write over an existing checkpoint', async () => {
    const dir = join(tmp.dir, 'twice');
    await makeTiny(TINY_CONFIGS[0], dir);
    await expect(makeTiny(TINY_CONFIGS[0], dir)).rejects.toThrow(/exists and is not empty/);
  });
});
