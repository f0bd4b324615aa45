import { defineOp } from '../op.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from '../tensor.ts';
import { tensorType } from '../types.ts';
import { dtypeAttr, elementwiseCost, expectArity, expectSameShape } from './helpers.ts';

/** Elementwise ops over tensors of one shape; the result takes attr `dtype` or the first input's. */

function binary(name: string, doc: string, f: (a: number, b: number) => number): void {
  defineOp({
    name,
    doc,
    infer(inputs, attrs) {
      expectArity(name, inputs, 2);
      expectSameShape(name, inputs[0], inputs[1]);
      return [tensorType(dtypeAttr(attrs, 'dtype', inputs[0].dtype), inputs[0].shape)];
    },
    reference([a, b]) {
      const out = new Float64Array(a.data.length);
      for (let i = 0; i < out.length; i++) out[i] = f(a.data[i], b.data[i]);
      return [tensor(a.shape, out)];
    },
    cost: elementwiseCost(1),
  });
}

function unary(name: string, doc: string, flops: number, f: (x: number) => number): void {
  defineOp({
    name,
    doc,
    infer(inputs, attrs) {
      expectArity(name, inputs, 1);
      return [tensorType(dtypeAttr(attrs, 'dtype', inputs[0].dtype), inputs[0].shape)];
    },
    reference([x]: readonly Tensor[]) {
      return [tensor(x.shape, x.data.map(f))];
    },
    cost: elementwiseCost(flops),
  });
}

export const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

binary('add', 'a + b', (a, b) => a + b);
binary('mul', 'a · b', (a, b) => a * b);
unary('silu', 'x · sigmoid(x)', 4, (x) => x * sigmoid(x));
unary('sigmoid', '1 / (1 + exp(−x))', 3, sigmoid);
