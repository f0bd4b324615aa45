import { defineOp } from '../op.ts';
import { tensor } from '../tensor.ts';
import { resolveShape, tensorType } from '../types.ts';
import { expectArity, expectDim, expectRank, ioBytes, numAttr } from './helpers.ts';

/**
 * Multi-head Latent Attention in its expanded form: every head has its own k_nope and v, all heads
 * share one k_pe. Query t of sequence b sees cache positions j ≤ positions[b, t] (causal in
 * prefill, the whole prefix in decode); softmax in fp32.
 */
defineOp({
  name: 'mla_attention',
  doc: 'softmax((q_nope·k_nope + q_pe·k_pe) · scale, j ≤ pos) · v',
  infer(inputs, attrs) {
    expectArity('mla_attention', inputs, 6);
    numAttr('mla_attention', attrs, 'scale');
    const [qNope, qPe, kNope, kPe, v, positions] = inputs;
    for (const [what, t] of [['q_nope', qNope], ['q_pe', qPe], ['k_nope', kNope], ['v', v]] as const) {
      expectRank('mla_attention', what, t, 4);
    }
    expectRank('mla_attention', 'k_pe', kPe, 3);
    expectRank('mla_attention', 'positions', positions, 2);
    const [B, Tq, h, n] = qNope.shape;
    const [, S] = kNope.shape;
    expectDim('mla_attention', 'q_pe heads', qPe.shape[2], h);
    expectDim('mla_attention', 'k_nope width', kNope.shape[3], n);
    expectDim('mla_attention', 'k_nope heads', kNope.shape[2], h);
    expectDim('mla_attention', 'k_pe width', kPe.shape[2], qPe.shape[3]);
    expectDim('mla_attention', 'k_pe positions', kPe.shape[1], S);
    expectDim('mla_attention', 'v positions', v.shape[1], S);
    expectDim('mla_attention', 'v heads', v.shape[2], h);
    for (const t of [qPe, kNope, kPe, v, positions]) expectDim('mla_attention', 'batch', t.shape[0], B);
    expectDim('mla_attention', 'positions length', positions.shape[1], Tq);
    return [tensorType(qNope.dtype, [B, Tq, h, v.shape[3]])];
  },
  reference([qNope, qPe, kNope, kPe, v, positions], attrs) {
    const [B, Tq, h, n] = qNope.shape;
    const r = qPe.shape[3];
    const S = kNope.shape[1];
    const dv = v.shape[3];
    const scale = attrs.scale as number;
    const out = new Float64Array(B * Tq * h * dv);
    const logits = new Float64Array(S);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < Tq; t++) {
        const visible = Math.min(positions.data[b * Tq + t], S - 1) + 1;
        for (let hh = 0; hh < h; hh++) {
          const qn = ((b * Tq + t) * h + hh) * n;
          const qp = ((b * Tq + t) * h + hh) * r;
          let max = -Infinity;
          for (let j = 0; j < visible; j++) {
            let dot = 0;
            const kn = ((b * S + j) * h + hh) * n;
            for (let i = 0; i < n; i++) dot += qNope.data[qn + i] * kNope.data[kn + i];
            const kp = (b * S + j) * r;
            for (let i = 0; i < r; i++) dot += qPe.data[qp + i] * kPe.data[kp + i];
            logits[j] = dot * scale;
            max = Math.max(max, logits[j]);
          }
          let sum = 0;
          for (let j = 0; j < visible; j++) sum += (logits[j] = Math.exp(logits[j] - max));
          const o = ((b * Tq + t) * h + hh) * dv;
          for (let j = 0; j < visible; j++) {
            const p = logits[j] / sum;
            const vo = ((b * S + j) * h + hh) * dv;
            for (let i = 0; i < dv; i++) out[o + i] += p * v.data[vo + i];
          }
        }
      }
    }
    return [tensor([B, Tq, h, dv], out)];
  },
  cost(inputs, outputs, _attrs, bindings) {
    const [B, Tq, h, n] = resolveShape(inputs[0].shape, bindings);
    const r = resolveShape(inputs[1].shape, bindings)[3];
    const [, S, , dv] = resolveShape(inputs[4].shape, bindings);
    return { flops: 2 * B * Tq * h * S * (n + r + dv), bytes: ioBytes(inputs, outputs, bindings) };
  },
});

