/**
 * A tiny model ready to run on the cpu target: a make-tiny checkpoint (random seed, printed so a
 * failure can be replayed with DSV3C_TEST_SEED), a cpu package compiled for one activation mode
 * and built into a cache shared by the test file, the session, and the checkpoint's tensors as
 * the reference forward's float64 weights.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTinyCheckpoint } from '../../compiler/checkpoint/make-tiny.ts';
import { compileModel } from '../../compiler/compile-model.ts';
import type { Mesh } from '../../compiler/config/mesh.ts';
import { SINGLE_RANK } from '../../compiler/config/mesh.ts';
import type { ModelConfig } from '../../compiler/config/model-config.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { buildPackageKernels } from '../../compiler/package/build-kernels.ts';
import { dialectFor } from '../../compiler/package/dialect-for.ts';
import { generatePackage } from '../../compiler/package/generate-package.ts';
import { writePackage } from '../../compiler/package/write-package.ts';
import type { ModelSession } from '../../runtime/src/index.ts';
import { loadModel } from '../../runtime/src/index.ts';
import type { RefWeights } from '../reference/weights.ts';
import { checkpointRefWeights } from '../support/checkpoint-weights.ts';

export type Mode = 'none' | 'fp8';

export interface TinyModel {
  readonly name: string;
  readonly seed: number;
  readonly config: ModelConfig;
  readonly checkpoint: string;
  readonly weights: RefWeights;
}

export function testSeed(): number {
  return process.env.DSV3C_TEST_SEED ? Number(process.env.DSV3C_TEST_SEED) : Math.floor(Math.random() * 2 ** 31);
}

export async function makeTinyModel(name: string, root: string, seed = testSeed()): Promise<TinyModel> {
  const file = `configs/${name}.json`;
  const config = loadConfig(file);
  const checkpoint = join(root, `${name}-ckpt`);
  await makeTinyCheckpoint(config, checkpoint, { seed, shards: 2, configText: readFileSync(file, 'utf8') });
  return { name, seed, config, checkpoint, weights: await checkpointRefWeights(checkpoint) };
}

/** A tiny model over a checkpoint made earlier (make-tiny with `seed`), e.g. one shipped to the GPU machine. */
export async function tinyModelAt(name: string, checkpoint: string, seed: number): Promise<TinyModel> {
  return { name, seed, config: loadConfig(join(checkpoint, 'config.json')), checkpoint, weights: await checkpointRefWeights(checkpoint) };
}

/** Compiles and builds the cpu package of a model for one mode (kernels cached in DSV3C_CACHE_DIR), for one rank or a tensor-parallel mesh. */
export async function cpuPackage(model: TinyModel, mode: Mode, root: string, mesh: Mesh = SINGLE_RANK): Promise<string> {
  const dir = join(root, `${model.name}-${mode}${mesh.tp * mesh.ep > 1 ? `-tp${mesh.tp}-ep${mesh.ep}` : ''}-pkg`);
  const phases = compileModel(model.config, { actQuant: mode, disabledPasses: [], mesh });
  writePackage(dir, generatePackage(model.config, phases, { model: model.name, dialect: dialectFor('cpu'), actQuant: mode, disabledPasses: [], mesh }));
  await buildPackageKernels(dir);
  return dir;
}

export async function openSession(pkg: string, model: TinyModel, options: { maxContext?: number; maxBatch?: number; maxTokens?: number; kvPageSize?: number; kvPositions?: number } = {}): Promise<ModelSession> {
  return loadModel(pkg, model.checkpoint, { maxContext: 96, maxBatch: 4, progress: false, ...options });
}

export function tempRoot(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  process.env.DSV3C_CACHE_DIR ??= join(root, 'cache');
  return root;
}

export { relativeError } from '../reference/errors.ts';

export function rms(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] ** 2;
  return Math.sqrt(s / x.length);
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
