import type { Graph } from './graph.ts';
import { formatAttrs } from './graph.ts';
import { formatNames } from './name-runs.ts';
import { formatType } from './types.ts';

/**
 * The graph as text, one line per input, node and output:
 *   %12: bf16[T,7168] = rms_norm(%3, %11) {eps=0.000001}   # layers.0
 */
export function printGraph(graph: Graph): string {
  const lines = [`graph ${graph.phase} {`];
  for (const input of graph.inputs) {
    const recipe = input.recipe ? ` = ${input.recipe.kind}(${formatNames(input.recipe.sources)}) {${formatAttrs(input.recipe.attrs)}}` : '';
    lines.push(`  input %${input.value.id}: ${formatType(input.value.type)} ${input.role} "${input.name}"${recipe}`);
  }
  for (const node of graph.nodes) {
    const outs = node.outputs.map((o) => `%${o.id}: ${formatType(o.type)}`).join(', ');
    const attrs = Object.keys(node.attrs).length > 0 ? ` {${formatAttrs(node.attrs)}}` : '';
    const args = node.inputs.map((i) => `%${i}`).join(', ');
    lines.push(`  ${outs} = ${node.op}(${args})${attrs}${node.scope ? `   # ${node.scope}` : ''}`);
  }
  for (const o of graph.outputs) lines.push(`  output "${o.name}" = %${o.value}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
