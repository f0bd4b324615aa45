import { defineOp, ShapeError } from '../op.ts';
import { tensor } from '../tensor.ts';
import { DTYPE_BYTES, byteSize, numel, resolveShape, tensorType } from '../types.ts';
import { expectDim, expectRank, ioBytes, last } from './helpers.ts';
import { rmsNormRows } from './norm.ts';
import { applyRope } from './rope.ts';
import { poolRow } from './shape.ts';

/**
 * Multi-head Latent Attention in its absorbed form (decode): W_UK folded into the query, scores
 * taken against the cached latent itself, W_UV applied after attention. The cache holds
 * kv_lora + rope numbers per token, shared by all heads, in pools [P, ·] shared by all sequences:
 * a token's row is its slot (paged by the runtime), a sequence's keys are found by its slot table.
 */

/** y[..., h, n] = Σ_k x[..., h, k] · w[h, n, k]: one small matrix per head. */
export function headMatmul(x: Float64Array, w: Float64Array, heads: number, N: number, K: number): Float64Array {
  const rows = x.length / (heads * K);
  const y = new Float64Array(rows * heads * N);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < heads; h++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += x[(r * heads + h) * K + k] * w[(h * N + n) * K + k];
        y[(r * heads + h) * N + n] = acc;
      }
    }
  }
  return y;
}

defineOp({
  name: 'head_matmul',
  doc: 'x[..., h, K] · w[h, N, K]ᵀ per head → [..., h, N] (W_UV after absorbed attention)',
  infer([x, w]) {
    expectRank('head_matmul', 'weight', w, 3);
    expectDim('head_matmul', 'heads', x.shape[x.shape.length - 2], w.shape[0]);
    expectDim('head_matmul', 'features', last(x.shape), w.shape[2]);
    return [tensorType(x.dtype, [...x.shape.slice(0, -1), w.shape[1]])];
  },
  reference([x, w]) {
    const [h, N, K] = w.shape;
    return [tensor([...x.shape.slice(0, -1), N], headMatmul(x.data, w.data, h, N, K))];
  },
  cost(inputs, outputs, _attrs, bindings) {
    const [h, N, K] = inputs[1].shape as number[];
    const rows = numel(resolveShape(inputs[0].shape, bindings)) / (h * K);
    return { flops: 2 * rows * h * N * K, bytes: ioBytes(inputs, outputs, bindings), weightBytes: byteSize(inputs[1], bindings) };
  },
});

defineOp({
  name: 'mla_absorb_query',
  doc: 'q[N, h, nope+rope] → q_lat = q_nope · W_UK per head [N, h, kv_lora], q_pe roped [N, h, rope]',
  infer([q, wUk, positions], attrs) {
    expectRank('mla_absorb_query', 'q', q, 3);
    expectRank('mla_absorb_query', 'W_UK', wUk, 3);
    const nope = attrs.nope as number;
    const rope = attrs.dim as number;
    expectDim('mla_absorb_query', 'q width', q.shape[2], nope + rope);
    expectDim('mla_absorb_query', 'W_UK heads', wUk.shape[0], q.shape[1]);
    expectDim('mla_absorb_query', 'W_UK width', wUk.shape[2], nope);
    expectDim('mla_absorb_query', 'positions', positions.shape[0], q.shape[0]);
    return [tensorType(q.dtype, [q.shape[0], q.shape[1], wUk.shape[1]]), tensorType(q.dtype, [q.shape[0], q.shape[1], rope])];
  },
  reference([q, wUk, positions], attrs) {
    const [N, h, width] = q.shape;
    const nope = attrs.nope as number;
    const rope = width - nope;
    const C = wUk.shape[1];
    const qNope = new Float64Array(N * h * nope);
    const qPe = new Float64Array(N * h * rope);
    for (let r = 0; r < N * h; r++) {
      qNope.set(q.data.subarray(r * width, r * width + nope), r * nope);
      qPe.set(q.data.subarray(r * width + nope, (r + 1) * width), r * rope);
    }
    return [tensor([N, h, C], headMatmul(qNope, wUk.data, h, C, nope)), tensor([N, h, rope], applyRope(qPe, positions.data, attrs))];
  },
  cost(inputs, outputs, attrs, bindings) {
    const [h, C, nope] = inputs[1].shape as number[];
    const N = resolveShape(inputs[0].shape, bindings)[0];
    return { flops: 2 * N * h * C * nope, bytes: ioBytes(inputs, outputs, bindings), weightBytes: byteSize(inputs[1], bindings) };
  },
});

defineOp({
  name: 'mla_absorbed_attention',
  doc: 'softmax((q_lat·c_kv + q_pe·k_pe) · scale, j ≤ pos) · c_kv, key j of sequence b at pool row slot_table[b, j] → latent output [B, Tq, h, kv_lora]',
  infer(inputs) {
    if (inputs.length !== 6) throw new ShapeError('mla_absorbed_attention', `expects 6 inputs, got ${inputs.length}`);
    const [qLat, qPe, cKv, kPe, positions, table] = inputs;
    expectRank('mla_absorbed_attention', 'q_lat', qLat, 4);
    expectRank('mla_absorbed_attention', 'c_kv pool', cKv, 2);
    expectRank('mla_absorbed_attention', 'k_pe pool', kPe, 2);
    expectRank('mla_absorbed_attention', 'slot table', table, 2);
    expectDim('mla_absorbed_attention', 'latent width', cKv.shape[1], qLat.shape[3]);
    expectDim('mla_absorbed_attention', 'rope width', kPe.shape[1], qPe.shape[3]);
    expectDim('mla_absorbed_attention', 'k_pe pool rows', kPe.shape[0], cKv.shape[0]);
    expectDim('mla_absorbed_attention', 'positions length', positions.shape[1], qLat.shape[1]);
    expectDim('mla_absorbed_attention', 'slot table batch', table.shape[0], qLat.shape[0]);
    return [tensorType(qLat.dtype, qLat.shape)];
  },
  reference([qLat, qPe, cKv, kPe, positions, table], attrs) {
    const [B, Tq, h, C] = qLat.shape;
    const r = qPe.shape[3];
    const P = cKv.shape[0];
    const S = table.shape[1];
    const scale = attrs.scale as number;
    const out = new Float64Array(qLat.data.length);
    const logits = new Float64Array(S);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < Tq; t++) {
        const visible = Math.min(positions.data[b * Tq + t], S - 1) + 1;
        const rows = Array.from({ length: Math.max(visible, 0) }, (_, j) => poolRow('mla_absorbed_attention', table.data[b * S + j], P));
        for (let hh = 0; hh < h; hh++) {
          const q = ((b * Tq + t) * h + hh) * C;
          const qp = ((b * Tq + t) * h + hh) * r;
          let max = -Infinity;
          for (let j = 0; j < visible; j++) {
            let dot = 0;
            for (let i = 0; i < C; i++) dot += qLat.data[q + i] * cKv.data[rows[j] * C + i];
            for (let i = 0; i < r; i++) dot += qPe.data[qp + i] * kPe.data[rows[j] * r + i];
            logits[j] = dot * scale;
            max = Math.max(max, logits[j]);
          }
          let sum = 0;
          for (let j = 0; j < visible; j++) sum += (logits[j] = Math.exp(logits[j] - max));
          for (let j = 0; j < visible; j++) {
            const p = logits[j] / sum;
            for (let i = 0; i < C; i++) out[q + i] += p * cKv.data[rows[j] * C + i];
          }
        }
      }
    }
    return [tensor(qLat.shape, out)];
  },
  cost(inputs, outputs, _attrs, bindings) {
    const [B, Tq, h, C] = resolveShape(inputs[0].shape, bindings);
    const r = resolveShape(inputs[1].shape, bindings)[3];
    const S = resolveShape(inputs[5].shape, bindings)[1];
    // The keys read: S pool rows per sequence, whatever the pool's size.
    const kv = B * S * (C + r) * DTYPE_BYTES[inputs[2].dtype];
    const io = ioBytes([inputs[0], inputs[1], inputs[4], inputs[5]], outputs, bindings);
    return { flops: 2 * B * Tq * h * S * (C + r + C), bytes: io + kv, kvBytes: kv };
  },
});

defineOp({
  name: 'mla_kv_write',
  inPlace: [[0, 4], [1, 5]],
  doc: 'kv[N, kv_lora+rope] → c_kv = rms_norm(latent), k_pe = rope(k_pe at positions), both written into the pools at rows slots[n]',
  infer([kv, w, positions, slots, cacheC, cacheK], attrs) {
    expectRank('mla_kv_write', 'kv', kv, 2);
    expectRank('mla_kv_write', 'c_kv pool', cacheC, 2);
    expectRank('mla_kv_write', 'k_pe pool', cacheK, 2);
    const C = cacheC.shape[1] as number;
    expectDim('mla_kv_write', 'kv width', kv.shape[1], C + (attrs.dim as number));
    expectDim('mla_kv_write', 'norm weight', w.shape[0], C);
    expectDim('mla_kv_write', 'positions', positions.shape[0], kv.shape[0]);
    expectDim('mla_kv_write', 'slots', slots.shape[0], kv.shape[0]);
    expectDim('mla_kv_write', 'k_pe pool rows', cacheK.shape[0], cacheC.shape[0]);
    expectDim('mla_kv_write', 'k_pe width', cacheK.shape[1], attrs.dim as number);
    return [tensorType(cacheC.dtype, cacheC.shape), tensorType(cacheK.dtype, cacheK.shape)];
  },
  reference([kv, w, positions, slots, cacheC, cacheK], attrs) {
    const [N, width] = kv.shape;
    const [P, C] = cacheC.shape;
    const r = width - C;
    const outC = Float64Array.from(cacheC.data);
    const outK = Float64Array.from(cacheK.data);
    const latent = new Float64Array(N * C);
    const pe = new Float64Array(N * r);
    for (let n = 0; n < N; n++) {
      latent.set(kv.data.subarray(n * width, n * width + C), n * C);
      pe.set(kv.data.subarray(n * width + C, (n + 1) * width), n * r);
    }
    const normed = rmsNormRows(latent, w.data, attrs.eps as number);
    const roped = applyRope(pe, positions.data, attrs);
    for (let n = 0; n < N; n++) {
      const row = poolRow('mla_kv_write', slots.data[n], P);
      outC.set(normed.subarray(n * C, (n + 1) * C), row * C);
      outK.set(roped.subarray(n * r, (n + 1) * r), row * r);
    }
    return [tensor(cacheC.shape, outC), tensor(cacheK.shape, outK)];
  },
  cost(inputs, _outputs, _attrs, bindings) {
    // Reads the new latents and writes them to the pools: the pools are not read.
    const fresh = byteSize(inputs[0], bindings);
    return { flops: 6 * numel(resolveShape(inputs[0].shape, bindings)), bytes: 2 * fresh, kvBytes: fresh };
  },
});
