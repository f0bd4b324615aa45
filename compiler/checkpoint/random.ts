/**
 * A small seeded PRNG, so tiny checkpoints are byte-identical for a seed on every machine.
 * mulberry32: 32-bit state, period 2^32, plenty for tensors of a few million values.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed for one labelled stream (FNV-1a of the label, mixed with the seed). */
export function streamSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Standard normal samples by Box–Muller (V8's Math.log/cos/sin are fdlibm ports: deterministic). */
export function normalSampler(uniform: () => number): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniform())); // 1 − u in (0, 1]: log never sees 0
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/** n values mean + std · N(0, 1) as float32, from the stream named `label`. */
export function normalArray(seed: number, label: string, n: number, std: number, mean = 0): Float32Array {
  const next = normalSampler(mulberry32(streamSeed(seed, label)));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + std * next();
  return out;
}
