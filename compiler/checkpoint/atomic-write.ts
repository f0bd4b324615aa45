import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError } from './checkpoint-error.ts';

export interface OutputFile {
  /** A plain file name inside the folder. */
  readonly name: string;
  write(handle: FileHandle): Promise<void>;
}

/**
 * Writes every file into `dir` or none: each goes to a hidden temp file in `dir` itself (same
 * filesystem, so rename is atomic), is fsynced, and only when all are complete are they renamed
 * into place. On error the temp files, and `dir` if this call created it, are removed.
 * `dir` must be new or empty, so no stale shard of another checkpoint can sit beside the new ones.
 */
export async function writeFolderAtomically(dir: string, files: readonly OutputFile[]): Promise<void> {
  if (existsSync(dir) && (await readdir(dir)).length > 0) {
    throw new CheckpointError({ file: dir, problem: 'exists and is not empty', expected: 'a new or empty folder' });
  }
  const created = await mkdir(dir, { recursive: true });
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const temps: string[] = [];
  try {
    for (const f of files) {
      const temp = join(dir, `.${f.name}.${tag}.tmp`);
      temps.push(temp);
      const handle = await open(temp, 'wx');
      try {
        await f.write(handle);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  } catch (e) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => {})));
    if (created !== undefined) await rm(created, { recursive: true, force: true });
    throw e;
  }
  for (let i = 0; i < files.length; i++) await rename(temps[i], join(dir, files[i].name));
  // Persist the renames themselves.
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
