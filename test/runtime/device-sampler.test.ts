/**
 * deviceSampler on the cpu target: a tiny package compiled, written and built (kernels in a temp
 * cache), read as the runtime reads it, and its plan.json sampler launched through the runtime's
 * Device on random logits rows written into a device buffer, as a step's output at a byte offset,
 * with a random first row and poison (NaN) in the rows it must not read. Each id must be the one
 * the float64 reference sampleRow picks from the row, the f32 temperature and top_p and the row's
 * draw: greedy and sampling with random temperature and top_p, for B in {1, 3}. Every row takes
 * exactly one draw; bad row ranges are refused before any draw. readPackage wants the sampler's
 * binary, and refuses a plan.json of format 1 (which has no sampler).
 */
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileModel } from '../../compiler/compile-model.ts';
import { sampleRow } from '../../compiler/ir/ops/sample.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { BINARY_EXT, buildPackageKernels } from '../../compiler/package/build-kernels.ts';
import { dialectFor } from '../../compiler/package/dialect-for.ts';
import { generatePackage } from '../../compiler/package/generate-package.ts';
import { writePackage } from '../../compiler/package/write-package.ts';
import type { Device, DeviceMemory } from '../../runtime/src/device/device.ts';
import { openDevice } from '../../runtime/src/device/device.ts';
import { StepError } from '../../runtime/src/exec/capacity.ts';
import type { StepOutput } from '../../runtime/src/exec/executor.ts';
import type { ReadPackage } from '../../runtime/src/read-package.ts';
import { PackageError, readPackage } from '../../runtime/src/read-package.ts';
import type { Sampler } from '../../runtime/src/sampler.ts';
import { deviceSampler } from '../../runtime/src/sampler.ts';
import type { SamplingRow } from '../../runtime/src/sampling/index.ts';
import { samplingParams, samplingRow } from '../../runtime/src/sampling/index.ts';
import { Rng } from '../reference/prng.ts';

const CONFIG = 'tiny-bf16-dense1';
const MAX_BATCH = 4;
/** Rows of the fake step output: the sampled ones start at a random row of these. */
const STEP_ROWS = MAX_BATCH + 2;
/** The step output's logits start this far into the buffer. */
const BYTE_OFFSET = 256;

let dir: string;
let pkg: ReadPackage;
let device: Device;
let sampler: Sampler;
let memory: DeviceMemory;
let V: number;

beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'dsv3c-device-sampler-'));
  dir = join(root, 'pkg');
  const config = loadConfig(`configs/${CONFIG}.json`);
  const phases = compileModel(config, { actQuant: 'none', disabledPasses: [] });
  writePackage(dir, generatePackage(config, phases, { model: CONFIG, dialect: dialectFor('cpu'), actQuant: 'none', disabledPasses: [] }));
  await buildPackageKernels(dir, { cacheDir: join(root, 'cache') });
  pkg = readPackage(dir);
  V = pkg.plan.sampler.vocab;
  device = openDevice('cpu');
  sampler = deviceSampler(device, pkg.plan, pkg.binaryOf, MAX_BATCH);
  memory = device.alloc(BYTE_OFFSET + STEP_ROWS * V * 4, 'test logits');
}, 300_000);

afterAll(() => {
  sampler?.dispose();
  memory?.dispose();
  device?.dispose();
});

/** STEP_ROWS rows of logits (NaN outside first … first + B - 1) written to the device as a step's output. */
function stepOutput(rng: Rng, first: number, B: number): { out: StepOutput; logits: Float32Array } {
  const logits = new Float32Array(STEP_ROWS * V).fill(Number.NaN);
  const scale = 0.5 + 4 * rng.next();
  const coarse = rng.next() < 0.3; // few distinct values: ties for argmax and for equal probabilities
  for (let i = first * V; i < (first + B) * V; i++) {
    const x = rng.normal() * scale;
    logits[i] = rng.next() < 0.1 ? -Infinity : coarse ? Math.round(x) : x;
  }
  for (let n = first; n < first + B; n++) logits[n * V + rng.int(V)] = 3 * scale; // at least one finite logit per row
  memory.fill(0xff);
  memory.write(logits, BYTE_OFFSET);
  return { out: { logits: { memory, byteOffset: BYTE_OFFSET, rows: STEP_ROWS } }, logits };
}

function rowsFor(rng: Rng, B: number, greedy: boolean): SamplingRow[] {
  return Array.from({ length: B }, () =>
    samplingRow(
      samplingParams({
        temperature: greedy ? 0 : 0.05 + 2 * rng.next(),
        topP: greedy || rng.next() < 0.2 ? 1 : 0.01 + 0.99 * rng.next(),
        seed: BigInt(rng.int(2 ** 30)) * 7919n,
      }),
    ),
  );
}

describe('deviceSampler on the cpu', () => {
  it('plan.json names a sample instance built into build/', () => {
    expect(pkg.plan.sampler.instance).toMatch(/^sample__/);
    expect(pkg.binaryOf(pkg.plan.sampler.instance)).toMatch(/\.so$/);
  });

  it.each([
    [1, 'greedy'],
    [3, 'greedy'],
    [1, 'sampling'],
    [3, 'sampling'],
  ] as const)('B %i, %s: the ids sampleRow picks, one draw per row', (B, mode) => {
    const seed = (Math.random() * 2 ** 32) >>> 0;
    const rng = new Rng(seed);
    const problems: string[] = [];
    for (let trial = 0; trial < 12; trial++) {
      const first = rng.int(STEP_ROWS - B + 1);
      const { out, logits } = stepOutput(rng, first, B);
      const rows = rowsFor(rng, B, mode === 'greedy');
      const got = sampler.sample(out, first, rows);
      rows.forEach((r, i) => {
        expect(r.rng.position, 'draws per row').toBe(1);
        const row = Float64Array.from(logits.subarray((first + i) * V, (first + i + 1) * V));
        const [t, p, u] = [Math.fround(r.params.temperature), Math.fround(r.params.topP), r.rng.uniformAt(0)];
        const want = sampleRow(row, t, p, u);
        if (got[i] !== want) problems.push(`trial ${trial} row ${first + i}: kernel ${got[i]}, reference ${want} (temperature ${t}, top_p ${p}, uniform ${u})`);
      });
    }
    expect(problems, `seed ${seed}`).toEqual([]);
  });

  it('refuses row ranges outside the step or the batch, drawing nothing', () => {
    const rng = new Rng(7);
    const { out } = stepOutput(rng, 0, STEP_ROWS);
    const rows = rowsFor(rng, MAX_BATCH + 1, false);
    expect(() => sampler.sample(out, 0, rows)).toThrow(StepError);
    expect(() => sampler.sample(out, 0, [])).toThrow(/expected 1 to 4/);
    expect(() => sampler.sample(out, STEP_ROWS - 1, rows.slice(0, 2))).toThrow(/rows 5 to 6: the step has rows 0 to 5/);
    expect(rows.map((r) => r.rng.position)).toEqual(rows.map(() => 0));
  });

  it('readPackage refuses a plan.json without a sampler (format dsv3c-plan/1)', () => {
    const file = join(dir, 'plan.json');
    const text = readFileSync(file, 'utf8');
    const old = JSON.parse(text) as Record<string, unknown>;
    delete old.sampler;
    writeFileSync(file, JSON.stringify({ ...old, format: 'dsv3c-plan/1' }));
    try {
      expect(() => readPackage(dir)).toThrow(/format "dsv3c-plan\/1", this runtime reads dsv3c-plan\/4; recompile the package/);
    } finally {
      writeFileSync(file, text);
    }
  });

  it('readPackage refuses a package whose sampler binary is missing', () => {
    const binary = pkg.binaryOf(pkg.plan.sampler.instance);
    renameSync(binary, `${binary}.away`);
    try {
      expect(() => readPackage(dir)).toThrow(PackageError);
      expect(() => readPackage(dir)).toThrow(`1 kernel binaries missing (e.g. ${pkg.plan.sampler.instance}${BINARY_EXT.cpu})`);
    } finally {
      renameSync(`${binary}.away`, binary);
    }
  });
});
