/**
 * Reading the experts each MoE layer chose in a step. Routing is discrete, so a comparison with
 * the reference must know where the two routed differently: a copy of the package whose plan keeps
 * every moe_route expert-id output alive to the step's end (numerically the same package: only
 * where the arena puts those buffers changes), read back with Executor.readArena.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import type { Plan } from '../../compiler/package/plan-format.ts';
import type { StepExecutor } from '../../runtime/src/exec/step-executor.ts';

export interface RouteProbe {
  readonly scope: string;
  /** Arena id of the expert ids [rows, K] (i32). */
  readonly id: number;
  readonly k: number;
}

export type Phase = 'prefill' | 'decode';

export function routingProbePackage(pkg: string, dir: string): Record<Phase, RouteProbe[]> {
  cpSync(pkg, dir, { recursive: true });
  const plan = JSON.parse(readFileSync(`${dir}/plan.json`, 'utf8')) as Plan;
  const probes = { prefill: [] as RouteProbe[], decode: [] as RouteProbe[] };
  const phases = plan.phases.map((p) => {
    const keep = new Map<number, number>();
    for (const k of p.kernels.filter((x) => x.op === 'moe_route')) {
      const ids = k.args[k.args.length - 2].buffer;
      if (!('arena' in ids)) throw new Error('moe_route ids are expected in the arena');
      const slot = p.arena.find((a) => a.id === ids.arena)!;
      keep.set(ids.arena, 0);
      probes[p.phase].push({ scope: k.scope, id: ids.arena, k: slot.shape[1] as number });
    }
    return { ...p, arena: p.arena.map((a) => (keep.has(a.id) ? { ...a, last: p.kernels.length } : a)) };
  });
  writeFileSync(`${dir}/plan.json`, JSON.stringify({ ...plan, phases }));
  return probes;
}

/** Per probed layer, per row of the step: the chosen experts, sorted. */
export function readRoutes(executor: StepExecutor, phase: Phase, probes: readonly RouteProbe[], rows: number): number[][][] {
  return probes.map((p) => {
    const ids = new Int32Array(rows * p.k);
    executor.readArena(phase, p.id, ids);
    return Array.from({ length: rows }, (_, r) => [...ids.subarray(r * p.k, (r + 1) * p.k)].sort((a, b) => a - b));
  });
}
