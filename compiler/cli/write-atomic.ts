import { renameSync, rmSync, writeFileSync } from 'node:fs';

/** Writes `path` through a temporary file and a rename, so a reader never sees half a file; a failed write leaves nothing behind. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
