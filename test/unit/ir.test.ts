import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../compiler/ir/builder.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { interpret } from '../../compiler/ir/interpret.ts';
import { allOps, getOp } from '../../compiler/ir/op.ts';
import '../../compiler/ir/ops/index.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { tensor } from '../../compiler/ir/tensor.ts';
import { VerifyError, verify } from '../../compiler/ir/verify.ts';

function smallGraph(): Graph {
  const g = new GraphBuilder('prefill');
  const x = g.input('x', 'activation', 'bf16', ['T', 4]);
  const w = g.input('w', 'weight', 'bf16', [3, 4]);
  const y = g.add1('matmul', [x, w]);
  const again = g.add1('matmul', [x, w]);
  expect(again).toBe(y); // hash-consed: equal structure is the same value
  g.output('y', g.add1('silu', [y]));
  return g.build();
}

describe('IR', () => {
  it('builds frozen SSA graphs whose equal nodes are shared', () => {
    const graph = smallGraph();
    expect(graph.nodes.length).toBe(2);
    expect(Object.isFrozen(graph.nodes[0])).toBe(true);
    expect(() => verify(graph)).not.toThrow();
  });

  it('prints one line per input, node and output', () => {
    const text = printGraph(smallGraph());
    expect(text).toContain('input %0: bf16[T,4] activation "x"');
    expect(text).toContain('%2: bf16[T,3] = matmul(%0, %1)');
    expect(text).toContain('output "y" = %3');
  });

  it('rejects a node whose output type disagrees with its op', () => {
    const graph = smallGraph();
    const broken: Graph = { ...graph, nodes: [{ ...graph.nodes[0], outputs: [{ id: 2, type: { dtype: 'bf16', shape: ['T', 5] } }] }, graph.nodes[1]] };
    expect(() => verify(broken)).toThrow(/output 0 is bf16\[T,5\], the op infers bf16\[T,3\]/);
  });

  it('rejects use before definition and duplicate names', () => {
    const graph = smallGraph();
    const reordered: Graph = { ...graph, nodes: [graph.nodes[1], graph.nodes[0]] };
    expect(() => verify(reordered)).toThrow(VerifyError);
    const dup: Graph = { ...graph, inputs: [graph.inputs[0], { ...graph.inputs[1], name: 'x' }] };
    expect(() => verify(dup)).toThrow(/input x is declared twice/);
  });

  it('infers shapes with symbols and rejects mismatches', () => {
    const g = new GraphBuilder('decode');
    const x = g.input('x', 'activation', 'bf16', ['B', 4]);
    const w = g.input('w', 'weight', 'bf16', [3, 5]);
    expect(() => g.add1('matmul', [x, w])).toThrow(/input features is 4, expected 5/);
    expect(() => g.add1('reshape', [x], { shape: ['B', 3] })).toThrow(/cannot reshape/);
    expect(g.typeOf(g.add1('reshape', [x], { shape: ['B', 2, 2] })).shape).toEqual(['B', 2, 2]);
  });

  it('interprets with symbols bound from the inputs', () => {
    const x = tensor([2, 4], [1, 2, 3, 4, -1, 0, 1, 0.5]);
    const w = tensor([3, 4], [1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1]);
    const out = interpret(smallGraph(), new Map([['x', x], ['w', w]])).get('y')!;
    const silu = (v: number) => v / (1 + Math.exp(-v));
    [1, 2, 10, -1, 0, 0.5].map(silu).forEach((v, i) => expect(out.data[i]).toBeCloseTo(v, 14));
    expect(() => interpret(smallGraph(), new Map([['x', tensor([2, 5])], ['w', w]]))).toThrow(/declares \[T,4\]/);
  });

  it('declares every op once with a doc line', () => {
    const names = allOps().map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    for (const op of allOps()) expect(op.doc.length).toBeGreaterThan(3);
    expect(() => getOp('no_such_op')).toThrow(/unknown op/);
  });
});
