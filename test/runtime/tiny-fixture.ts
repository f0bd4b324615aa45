import { join } from 'node:path';
import { openCheckpoint, type Checkpoint } from '../../compiler/checkpoint/checkpoint.ts';
import { compileModel } from '../../compiler/compile-model.ts';
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { buildManifest, type Manifest } from '../../compiler/package/manifest.ts';
import { makeTiny, REPO } from '../checkpoint/helpers.ts';

/** Seed for this run's tiny checkpoints: DSV3C_TEST_SEED, or random (tests print it when they fail). */
export const SEED = process.env.DSV3C_TEST_SEED !== undefined ? Number(process.env.DSV3C_TEST_SEED) : (Math.random() * 2 ** 32) >>> 0;

export const seedNote = () => `seed ${SEED} (rerun with DSV3C_TEST_SEED=${SEED})`;

export const configFile = (name: string) => join(REPO, 'configs', `${name}.json`);

export function manifestOf(config: ModelConfig): Manifest {
  return buildManifest(config, compileModel(config, { actQuant: 'fp8', disabledPasses: [] }).map((p) => p.schedule.graph));
}

/** A tiny checkpoint of configs/<name>.json written to `dir`, and the manifest of its compiled model. */
export async function tinyCheckpoint(name: string, dir: string, shards = 3): Promise<{ config: ModelConfig; manifest: Manifest; open: () => Promise<Checkpoint> }> {
  await makeTiny(configFile(name), dir, { seed: SEED, shards });
  const config = loadConfig(configFile(name));
  return { config, manifest: manifestOf(config), open: () => openCheckpoint(dir) };
}
