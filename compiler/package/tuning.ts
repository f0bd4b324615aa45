/**
 * tuning.json: the tunables every kernel instance was rendered with and the space each may take,
 * per instance. Today every value is its family's default (`chosenBy: "default"`); the autotuning
 * benchmarks search the space on a device and record their picks in the same shape.
 */
import type { KernelInstance } from '../codegen/instances.ts';
import { targetClass } from '../codegen/kernel-family.ts';
import type { Plan } from './plan-format.ts';

export const TUNING_FORMAT = 'dsv3c-tuning/1';

export function tuningFile(plan: Plan, instances: readonly KernelInstance[]): object {
  const cls = targetClass(plan.target.target);
  return {
    format: TUNING_FORMAT,
    target: plan.target.target,
    arch: plan.target.arch,
    instances: Object.fromEntries(
      instances.map((inst) => [
        inst.name,
        {
          family: inst.family.name,
          chosenBy: 'default',
          tunables: inst.tunables,
          space: Object.fromEntries(Object.entries(inst.family.tunables[cls]).map(([k, v]) => [k, v.space])),
        },
      ]),
    ),
  };
}
