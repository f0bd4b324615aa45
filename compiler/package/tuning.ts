/**
 * tuning.json: the tunables every kernel instance was rendered with and the space each may take,
 * per instance: its family's default (`chosenBy: "default"`) or an autotuner's pick
 * (`"autotune"`). benchmarks/autotune.ts searches the space on a device and writes its picks in
 * the same shape, which `dsv3c compile --tuning FILE` reads back (readTuningChoices).
 */
import type { KernelInstance } from '../codegen/instances.ts';
import type { Tunables } from '../codegen/kernel-family.ts';
import { baseOfInstanceName, targetClass } from '../codegen/kernel-family.ts';
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
          chosenBy: inst.chosenBy,
          tunables: inst.tunables,
          space: Object.fromEntries(Object.entries(inst.family.tunables[cls]).map(([k, v]) => [k, v.space])),
        },
      ]),
    ),
  };
}

export class TuningError extends Error {
  readonly userFacing = true;
}

/**
 * The autotuned picks of a tuning.json (`chosenBy: "autotune"`), keyed by instance base, for
 * PlanOptions.chosen. Entries left at their defaults are not picks. A file for another target,
 * or a pick outside its tunable's space, is an error naming the file and the instance.
 */
export function readTuningChoices(text: string, file: string, target: string): Map<string, Tunables> {
  let json: { format?: unknown; target?: unknown; instances?: Record<string, { chosenBy?: unknown; tunables?: Record<string, unknown>; space?: Record<string, unknown[]> }> };
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TuningError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (json.format !== TUNING_FORMAT) throw new TuningError(`${file}: format ${JSON.stringify(json.format)}, expected ${TUNING_FORMAT}`);
  if (json.target !== target) throw new TuningError(`${file}: tuned for target ${JSON.stringify(json.target)}, this compile is for ${target}`);
  const chosen = new Map<string, Tunables>();
  for (const [name, entry] of Object.entries(json.instances ?? {})) {
    if (entry.chosenBy !== 'autotune') continue;
    const base = baseOfInstanceName(name);
    if (!base) throw new TuningError(`${file}: ${name} is not a kernel instance name`);
    const tunables: Record<string, number> = {};
    for (const [k, v] of Object.entries(entry.tunables ?? {})) {
      const space = entry.space?.[k];
      if (typeof v !== 'number' || (Array.isArray(space) && !space.includes(v))) throw new TuningError(`${file}: ${name}: tunable ${k} = ${JSON.stringify(v)}, expected one of ${JSON.stringify(space)}`);
      tunables[k] = v;
    }
    chosen.set(base, tunables as Tunables);
  }
  return chosen;
}
