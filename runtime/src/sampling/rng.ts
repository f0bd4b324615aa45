/**
 * The host's source of the `sample` kernel's uniform draws: Philox4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11; the generator of cuRAND's and PyTorch's Philox), a
 * counter-based generator: draw i of a seed is a pure function of (seed, i), so the same seed gives
 * the same draws on every target and in any batching, and a sequence can resume at any position.
 *
 * Draw i uses counter (⌊i / 4⌋ as 64 bits, 0, 0) under the 64-bit key = seed and takes word i mod 4;
 * the uniform is its top 24 bits · 2⁻²⁴: in [0, 1), exactly representable as a float32, so the
 * kernel's f32 input holds the very value the host drew.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9; // golden ratio
const W1 = 0xbb67ae85; // sqrt(3) - 1

/** hi and lo 32 bits of a · b for unsigned 32-bit a, b, exactly (every partial stays below 2^53). */
function mulhilo(a: number, b: number): [number, number] {
  const u = (a >>> 16) * b; // < 2^48
  const t = (a & 0xffff) * b; // < 2^48
  const uHi = Math.floor(u / 65536);
  const hi = uHi + Math.floor(((u % 65536) * 65536 + t) / 4294967296);
  return [hi >>> 0, Math.imul(a, b) >>> 0];
}

/** Philox4x32 with 10 rounds: four 32-bit words of counter under a two-word key → four words. */
export function philox4x32(counter: readonly [number, number, number, number], key: readonly [number, number]): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((x) => x >>> 0);
  let [k0, k1] = key.map((x) => x >>> 0);
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const [hi0, lo0] = mulhilo(M0, c0);
    const [hi1, lo1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

const U64 = (1n << 64n) - 1n;

/** A seed as the Philox key: a non-negative integer below 2^64 (a safe integer or a bigint). */
export function seedKey(seed: number | bigint): [number, number] {
  const s = typeof seed === 'bigint' ? seed : Number.isSafeInteger(seed) ? BigInt(seed) : -1n;
  if (s < 0n || s > U64) throw new RangeError(`seed must be an integer in [0, 2^64), got ${String(seed)}`);
  return [Number(s & 0xffffffffn), Number(s >> 32n)];
}

/** Uniform draws of one seed: uniformAt(i) is fixed by (seed, i); next() walks i = position, position + 1, … */
export class SamplingRng {
  readonly seed: bigint;
  private readonly key: [number, number];
  /** The index of the draw next() returns. */
  position = 0;
  private block = -1;
  private words: [number, number, number, number] = [0, 0, 0, 0];

  constructor(seed: number | bigint) {
    this.key = seedKey(seed);
    this.seed = BigInt(seed);
  }

  /** Draw `index` (a non-negative safe integer): a multiple of 2⁻²⁴ in [0, 1). */
  uniformAt(index: number): number {
    if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`draw index must be a non-negative integer, got ${index}`);
    const block = Math.floor(index / 4);
    if (block !== this.block) {
      this.words = philox4x32([block >>> 0, Math.floor(block / 4294967296) >>> 0, 0, 0], this.key);
      this.block = block;
    }
    return (this.words[index % 4] >>> 8) / 16777216;
  }

  next(): number {
    return this.uniformAt(this.position++);
  }
}
