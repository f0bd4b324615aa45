/**
 * Sampling options of a request, checked once (temperature ≥ 0, 0 < top_p ≤ 1, a 64-bit seed),
 * and the per-row f32 inputs of the `sample` kernel for a batch: temperature, top_p and one
 * uniform draw from each row's seeded generator (rng.ts).
 *
 * temperature 0 is greedy decoding (argmax, lowest id on ties); top_p 1 keeps every token.
 */
import { randomBytes } from 'node:crypto';
import { SamplingRng, seedKey } from './rng.ts';

/** An invalid sampling option; `option` is its name as users write it (temperature, top_p, seed). */
export class SamplingParamsError extends Error {
  override name = 'SamplingParamsError';
  readonly userFacing = true;
  constructor(
    readonly option: 'temperature' | 'top_p' | 'seed',
    problem: string,
  ) {
    super(`sampling option ${option}: ${problem}`);
  }
}

/** As a request or the command line gives them: numbers, or strings to parse (CLI flags). */
export interface SamplingOptions {
  readonly temperature?: number | string;
  readonly topP?: number | string;
  readonly seed?: number | bigint | string;
}

export interface SamplingParams {
  readonly temperature: number;
  readonly topP: number;
  /** Given, or drawn from the OS when absent (so that a run can be repeated with it). */
  readonly seed: bigint;
  /** temperature 0: argmax. */
  readonly greedy: boolean;
}

/** Hugging Face's defaults: plain sampling of the full distribution. */
export const DEFAULT_TEMPERATURE = 1;
export const DEFAULT_TOP_P = 1;

function number(option: 'temperature' | 'top_p', v: number | string): number {
  const x = typeof v === 'string' ? (v.trim() === '' ? Number.NaN : Number(v)) : v;
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new SamplingParamsError(option, `must be a finite number, got ${JSON.stringify(v)}`);
  return x;
}

function seedOf(v: number | bigint | string): bigint {
  let s: bigint;
  try {
    s = typeof v === 'bigint' ? v : typeof v === 'string' ? BigInt(v.trim() === '' ? 'x' : v.trim()) : Number.isSafeInteger(v) ? BigInt(v) : -1n;
  } catch {
    throw new SamplingParamsError('seed', `must be an integer in [0, 2^64), got ${JSON.stringify(v)}`);
  }
  try {
    seedKey(s);
  } catch {
    throw new SamplingParamsError('seed', `must be an integer in [0, 2^64), got ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}`);
  }
  return s;
}

/** Checks and completes a request's options; `defaults` fill what the request leaves out (e.g. generation_config.json's). */
export function samplingParams(options: SamplingOptions = {}, defaults: SamplingOptions = {}): SamplingParams {
  const temperature = number('temperature', options.temperature ?? defaults.temperature ?? DEFAULT_TEMPERATURE);
  if (temperature < 0) throw new SamplingParamsError('temperature', `must be ≥ 0 (0 is greedy), got ${temperature}`);
  const topP = number('top_p', options.topP ?? defaults.topP ?? DEFAULT_TOP_P);
  if (!(topP > 0 && topP <= 1)) throw new SamplingParamsError('top_p', `must be in (0, 1] (1 keeps every token), got ${topP}`);
  const given = options.seed ?? defaults.seed;
  const seed = given === undefined ? randomBytes(8).readBigUInt64LE(0) : seedOf(given);
  return { temperature, topP, seed, greedy: temperature === 0 };
}

/**
 * Defaults from a checkpoint's generation_config.json (parsed): its temperature and top_p, and
 * do_sample: false as temperature 0. Fields that are absent or not numbers are left out.
 */
export function generationDefaults(generationConfig: Readonly<Record<string, unknown>>): SamplingOptions {
  const out: { temperature?: number; topP?: number } = {};
  if (typeof generationConfig.temperature === 'number') out.temperature = generationConfig.temperature;
  if (typeof generationConfig.top_p === 'number') out.topP = generationConfig.top_p;
  if (generationConfig.do_sample === false) out.temperature = 0;
  return out;
}

/** One row of a batch: its request's parameters and generator. */
export interface SamplingRow {
  readonly params: SamplingParams;
  readonly rng: SamplingRng;
}

/** A row for a request: the generator is seeded with the request's seed, at draw 0. */
export function samplingRow(params: SamplingParams): SamplingRow {
  return { params, rng: new SamplingRng(params.seed) };
}

export interface SampleInputs {
  readonly temperature: Float32Array;
  readonly topP: Float32Array;
  readonly uniform: Float32Array;
}

/**
 * The `sample` kernel's f32 inputs for one step: per row its temperature, top_p, and its
 * generator's next draw (greedy rows draw too, so a row's draws depend only on its step count).
 */
export function sampleInputs(rows: readonly SamplingRow[]): SampleInputs {
  return {
    temperature: Float32Array.from(rows, (r) => r.params.temperature),
    topP: Float32Array.from(rows, (r) => r.params.topP),
    uniform: Float32Array.from(rows, (r) => r.rng.next()),
  };
}
