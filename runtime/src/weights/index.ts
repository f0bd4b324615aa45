/** The runtime's weight loader: check a checkpoint against manifest.json, then stream weights into a sink. */
export { checkWeightSources, weightSources } from './check-sources.ts';
export type { WeightCheckpoint } from './checkpoint-reader.ts';
export { DEFAULT_CHUNK_BYTES, loadWeights, MIN_CHUNK_BYTES, type LoadWeightsOptions, type LoadWeightsSummary } from './load-weights.ts';
export { WeightLoadError, type WeightProblem } from './weight-load-error.ts';
export type { WeightSink } from './weight-sink.ts';
