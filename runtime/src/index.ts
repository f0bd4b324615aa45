/**
 * dsv3c's runtime, as generated packages and users import it (`dsv3c/runtime`): load a compiled
 * package with a checkpoint folder, then generate.
 */
export type { DeviceKind } from './device/device.ts';
export type { LoadOptions } from './load-model.ts';
export { loadModel, MemoryBudgetError } from './load-model.ts';
export type { GeneratedToken, GenerateOptions, Prompt } from './session.ts';
export { ModelSession } from './session.ts';
