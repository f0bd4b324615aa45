import type { Attrs } from '../graph.ts';
import { defineOp, ShapeError } from '../op.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from '../tensor.ts';
import type { Bindings, Dim, TensorType } from '../types.ts';
import { byteSize, numel, resolveShape, tensorType } from '../types.ts';
import { sigmoid } from './elementwise.ts';
import { dequantActRows, quantizeActRows } from './fp8-quant.ts';
import { expectDim, ioBytes, last } from './helpers.ts';

/**
 * The GEMM kernel family: y = x · wᵀ with w [N, K] in one of three forms, and an epilogue.
 *   scaled: false            plain bf16 weight
 *   scaled, actQuant: false  W8A16: fp8 weight × block scale [⌈N/blockN⌉, ⌈K/blockK⌉], bf16 activations
 *   scaled, actQuant: true   W8A8: activations arrive quantized per 1×blockK group (xq, xs);
 *                            acc += (xq·w over one K block) · xs · ws, as DeepSeek's kernels do
 * epilogue 'swiglu': w's rows are gate and up interleaved in groups of `group`; y = silu(gate) · up.
 * outQuant: y leaves quantized per 1×quantBlock group (yq, ys) for the next W8A8 GEMM.
 */
export type GemmAttrs = {
  readonly actQuant: boolean;
  readonly scaled: boolean;
  readonly blockN: number;
  readonly blockK: number;
  readonly epilogue: 'none' | 'swiglu';
  readonly group: number;
  readonly outQuant: boolean;
  readonly quantBlock: number;
};

export function gemmAttrs(a: Partial<GemmAttrs>): GemmAttrs {
  return { actQuant: false, scaled: false, blockN: 0, blockK: 0, epilogue: 'none', group: 0, outQuant: false, quantBlock: 0, ...a };
}

/** How many activation operands come first: (xq, xs) for W8A8, x otherwise. */
export function activationArity(a: Attrs): number {
  return a.actQuant ? 2 : 1;
}

function weightArity(a: Attrs): number {
  return a.scaled ? 2 : 1;
}

/** y rows for x rows, the weight dequantized by its scales. Exact in float64 for either form. */
export function blockScaledRows(act: readonly Tensor[], w: Float64Array, ws: Float64Array | null, N: number, K: number, a: Attrs): Float64Array {
  const bn = a.blockN as number;
  const bk = a.blockK as number;
  const kb = Math.ceil(K / (bk || K));
  const x = act[0].data;
  const rows = x.length / K;
  const y = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++) {
    for (let n = 0; n < N; n++) {
      let acc = 0;
      if (a.actQuant) {
        const xs = act[1].data;
        for (let b = 0; b < kb; b++) {
          let part = 0;
          for (let k = b * bk; k < Math.min((b + 1) * bk, K); k++) part += x[r * K + k] * w[n * K + k];
          acc += part * xs[r * kb + b] * ws![Math.floor(n / bn) * kb + b];
        }
      } else {
        for (let k = 0; k < K; k++) acc += x[r * K + k] * w[n * K + k] * (ws ? ws[Math.floor(n / bn) * kb + Math.floor(k / bk)] : 1);
      }
      y[r * N + n] = acc;
    }
  }
  return y;
}

/** silu(gate) · up over rows of y [rows, 2I] whose columns interleave gate and up in groups of g. */
export function swigluInterleaved(y: Float64Array, twoI: number, g: number): Float64Array {
  const I = twoI / 2;
  const rows = y.length / twoI;
  const out = new Float64Array(rows * I);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < I; j++) {
      const base = r * twoI + Math.floor(j / g) * 2 * g;
      const width = Math.min(g, I - Math.floor(j / g) * g); // the last group may be short
      const gate = y[base + (j % g)];
      const up = y[base + width + (j % g)];
      out[r * I + j] = gate * sigmoid(gate) * up;
    }
  }
  return out;
}

/** Applies epilogue and output quantization to raw GEMM rows. */
export function gemmEpilogue(y: Float64Array, N: number, a: Attrs, leading: readonly number[]): Tensor[] {
  const width = a.epilogue === 'swiglu' ? N / 2 : N;
  const out = a.epilogue === 'swiglu' ? swigluInterleaved(y, N, a.group as number) : y;
  if (!a.outQuant) return [tensor([...leading, width], out)];
  const { q, s } = quantizeActRows(out, width, a.quantBlock as number);
  return [tensor([...leading, width], q), tensor([...leading, Math.ceil(width / (a.quantBlock as number))], s)];
}

/** Output types of a GEMM over activation rows `leading` producing N raw columns. */
export function gemmOutputs(op: string, leading: readonly Dim[], N: number, a: Attrs): TensorType[] {
  if (a.epilogue === 'swiglu' && (N % 2 !== 0 || !(typeof a.group === 'number' && a.group > 0))) {
    throw new ShapeError(op, `swiglu epilogue needs an even N (got ${N}) and a positive group`);
  }
  const width = a.epilogue === 'swiglu' ? N / 2 : N;
  if (!a.outQuant) return [tensorType('bf16', [...leading, width])];
  return [tensorType('fp8e4m3', [...leading, width]), tensorType('f32', [...leading, Math.ceil(width / (a.quantBlock as number))])];
}

/** Checks activation and weight operands against each other; returns (N, K). */
export function checkGemmOperands(op: string, act: readonly TensorType[], w: TensorType, ws: TensorType | undefined, a: Attrs): [number, number] {
  const [N, K] = w.shape.slice(-2) as number[];
  expectDim(op, 'activation features', last(act[0].shape), K);
  if (a.actQuant) {
    expectDim(op, 'activation scale groups', last(act[1].shape), Math.ceil(K / (a.blockK as number)));
    if (act[0].dtype !== 'fp8e4m3') throw new ShapeError(op, `W8A8 activations must be fp8e4m3, got ${act[0].dtype}`);
  }
  if (a.scaled) {
    if (w.dtype !== 'fp8e4m3') throw new ShapeError(op, `a scaled weight must be fp8e4m3, got ${w.dtype}`);
    expectDim(op, 'weight scale rows', ws!.shape[ws!.shape.length - 2], Math.ceil(N / (a.blockN as number)));
    expectDim(op, 'weight scale columns', last(ws!.shape), Math.ceil(K / (a.blockK as number)));
  }
  return [N, K];
}

function gemmCost(rows: number, N: number, K: number, weightBytes: number, inputs: readonly TensorType[], outputs: readonly TensorType[], bindings: Bindings) {
  return { flops: 2 * rows * N * K, bytes: ioBytes(inputs, outputs, bindings), weightBytes };
}

defineOp({
  name: 'gemm',
  doc: 'x · wᵀ with a bf16, W8A16 or W8A8 block-scaled weight, plain or SwiGLU epilogue, optional output quant',
  infer(inputs, attrs) {
    const na = activationArity(attrs);
    if (inputs.length !== na + weightArity(attrs)) throw new ShapeError('gemm', `expects ${na + weightArity(attrs)} inputs, got ${inputs.length}`);
    const [N] = checkGemmOperands('gemm', inputs.slice(0, na), inputs[na], inputs[na + 1], attrs);
    return gemmOutputs('gemm', inputs[0].shape.slice(0, -1), N, attrs);
  },
  reference(inputs, attrs) {
    const na = activationArity(attrs);
    const w = inputs[na];
    const [N, K] = w.shape;
    const y = blockScaledRows(inputs.slice(0, na), w.data, attrs.scaled ? inputs[na + 1].data : null, N, K, attrs);
    return gemmEpilogue(y, N, attrs, inputs[0].shape.slice(0, -1));
  },
  cost(inputs, outputs, attrs, bindings) {
    const na = activationArity(attrs);
    const rows = numel(resolveShape(inputs[0].shape.slice(0, -1), bindings));
    const [N, K] = inputs[na].shape as number[];
    const weightBytes = inputs.slice(na).reduce((s, t) => s + byteSize(t, bindings), 0);
    return gemmCost(rows, N, K, weightBytes, inputs, outputs, bindings);
  },
});

defineOp({
  name: 'dequant_act_fp8',
  doc: 'e4m3 q[..., K] × scales[..., ⌈K/block⌉] → bf16: the W8A8 model before its GEMM is fused',
  infer([q, s], attrs) {
    const K = last(q.shape) as number;
    expectDim('dequant_act_fp8', 'scale groups', last(s.shape), Math.ceil(K / (attrs.block as number)));
    return [tensorType('bf16', q.shape)];
  },
  reference([q, s], attrs) {
    return [tensor(q.shape, dequantActRows(q.data, s.data, q.shape[q.shape.length - 1], attrs.block as number))];
  },
  cost(inputs, outputs, _attrs, bindings) {
    return { flops: numel(resolveShape(inputs[0].shape, bindings)), bytes: ioBytes(inputs, outputs, bindings) };
  },
});

defineOp({
  name: 'act_quant_fp8',
  doc: 'x[..., K] → e4m3 q[..., K] and f32 scales[..., ⌈K/block⌉], s = max(amax, 1e-4)/448 per 1×block group',
  infer(inputs, attrs) {
    if (inputs.length !== 1) throw new ShapeError('act_quant_fp8', `expects 1 input, got ${inputs.length}`);
    const K = last(inputs[0].shape);
    if (typeof K !== 'number') throw new ShapeError('act_quant_fp8', 'the quantized axis must be a constant');
    const lead = inputs[0].shape.slice(0, -1);
    return [tensorType('fp8e4m3', inputs[0].shape), tensorType('f32', [...lead, Math.ceil(K / (attrs.block as number))])];
  },
  reference([x], attrs) {
    const K = x.shape[x.shape.length - 1];
    const { q, s } = quantizeActRows(x.data, K, attrs.block as number);
    return [tensor(x.shape, q), tensor([...x.shape.slice(0, -1), Math.ceil(K / (attrs.block as number))], s)];
  },
  cost(inputs, outputs, _attrs, bindings) {
    return { flops: 3 * numel(resolveShape(inputs[0].shape, bindings)), bytes: ioBytes(inputs, outputs, bindings) };
  },
});


