/**
 * The tiny checkpoints of the bundle. make-tiny runs here (prepare.ts) and every file's sha256 goes
 * into bundle.json; checkpoints up to SHIP_LIMIT_BYTES travel in the bundle, a larger one (the
 * 64 MiB transfer limit) is made again there by the bundled make-tiny with the same config and
 * seed — the same bytes, which the hashes prove before anything uses it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyCheckpoint } from '../../compiler/checkpoint/make-tiny.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import type { BundleManifest, CheckpointEntry } from './layout.ts';

export const SHIP_LIMIT_BYTES = 8 * 2 ** 20;

export function hashFiles(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((f) => [f, createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')]),
  );
}

/** The folder of a bundle checkpoint: the shipped one, or one made here now and checked against its hashes. */
export async function checkpointPath(bundleDir: string, bundle: BundleManifest, config: string): Promise<string> {
  const entry: CheckpointEntry | undefined = bundle.checkpoints.find((c) => c.config === config);
  if (!entry) throw new Error(`no checkpoint of ${config} in the bundle`);
  if (entry.shipped) return join(bundleDir, entry.dir);
  const dir = join(tmpdir(), `dsv3c-gpu-${bundle.commit.slice(0, 12)}-${config}-${bundle.tinySeed}`);
  if (!existsSync(dir)) {
    const staging = `${dir}.${process.pid}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const file = join(bundleDir, 'configs', `${config}.json`);
    await makeTinyCheckpoint(loadConfig(file), staging, { seed: bundle.tinySeed, shards: 2, configText: readFileSync(file, 'utf8') });
    renameSync(staging, dir);
  }
  const got = hashFiles(dir);
  const bad = Object.keys(entry.sha256).filter((f) => got[f] !== entry.sha256[f]);
  if (bad.length) throw new Error(`${dir}: make-tiny here made other bytes than on the bundling machine (${bad.join(', ')}); the shipped hashes are in bundle.json`);
  return dir;
}
