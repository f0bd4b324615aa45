import type { Mesh } from '../../../compiler/config/mesh.ts';
import { collectiveGroups } from '../../../compiler/config/mesh.ts';
import type { Capacity } from './capacity.ts';
import type { CollectiveOperands, Executor, PreparedStep, StepOutput } from './executor.ts';
import type { KvPages } from './kv-pages.ts';
import type { StepExecutor } from './step-executor.ts';

/** Runs one collective of a step for one group of ranks, given their operands (in rank order). */
export type Communicator = (ranks: readonly CollectiveOperands[]) => void;

/**
 * The ranks of a mesh stepped together: each rank's Executor holds its slices of the weights (and
 * its experts), its own arena and its own copy of the latent KV cache (the latent is shared by all
 * heads, so every rank keeps all of it). A step prepares every rank (the same checks, pages and
 * inputs), then runs segment s on each rank and the collective after it across each group of
 * ranks (the tp ranks of one expert-parallel index, or all of them), segment by segment. Every
 * rank ends with the whole logits (the head's all_gather); rank 0's are the step's output. The
 * ranks make the same page decisions from the same calls, so rank 0's pages stand for all.
 */
export class MeshExecutor implements StepExecutor {
  constructor(
    private readonly members: readonly Executor[],
    readonly mesh: Mesh,
    private readonly communicate: Communicator,
  ) {
    if (members.length !== mesh.tp * mesh.ep) throw new Error(`MeshExecutor: ${members.length} executors for a mesh of ${mesh.tp * mesh.ep} ranks`);
  }

  get vocab(): number {
    return this.members[0].vocab;
  }

  get capacity(): Capacity {
    return this.members[0].capacity;
  }

  get pages(): KvPages {
    return this.members[0].pages;
  }

  prefill(seq: number, tokens: readonly number[], start: number): StepOutput {
    return this.run(this.members.map((e) => e.beginPrefill(seq, tokens, start)));
  }

  decode(tokens: readonly number[], positions: readonly number[], seqs?: readonly number[]): StepOutput {
    return this.run(this.members.map((e) => e.beginDecode(tokens, positions, seqs)));
  }

  release(seq: number): void {
    for (const e of this.members) e.release(seq);
  }

  readArena(phase: 'prefill' | 'decode', id: number, into: ArrayBufferView): void {
    this.members[0].readArena(phase, id, into);
  }

  dispose(): void {
    for (const e of this.members) e.dispose();
  }

  private run(steps: readonly PreparedStep[]): StepOutput {
    const segments = this.members[0].segmentCount(steps[0].phase);
    for (let s = 0; s < segments; s++) {
      this.members.forEach((e, r) => e.runSegment(steps[r], s));
      if (s + 1 === segments) break;
      const operands = this.members.map((e, r) => e.collectiveOperands(steps[r], s));
      for (const group of collectiveGroups(this.mesh, operands[0].collective.group)) this.communicate(group.map((r) => operands[r]));
    }
    return this.members[0].output(steps[0]);
  }
}
