/**
 * The typed, validated view of a DeepseekV3ForCausalLM config.json.
 * Field names are camelCase versions of the Hugging Face names; every size is a positive integer
 * unless its doc says otherwise.
 */

export type RopeScaling =
  | { readonly type: 'none' }
  | {
      readonly type: 'yarn';
      readonly factor: number;
      readonly originalMaxPositionEmbeddings: number;
      readonly betaFast: number;
      readonly betaSlow: number;
      readonly mscale: number;
      readonly mscaleAllDim: number;
    };

/** FP8 e4m3 weights with one float32 `weight_scale_inv` per [blockN × blockK] block. */
export interface Fp8Quantization {
  readonly fmt: 'e4m3';
  readonly blockN: number; // block size along a linear's output rows
  readonly blockK: number; // block size along a linear's input columns
  readonly activationScheme: 'dynamic';
}

export interface ModelConfig {
  /** Where the config came from, for error messages. */
  readonly source: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number; // dense MLP
  readonly moeIntermediateSize: number; // each routed and shared expert
  readonly numLayers: number; // decoder layers of the main model
  readonly firstKDenseReplace: number;
  readonly moeLayerFreq: number;
  readonly numHeads: number;
  readonly qLoraRank: number | null; // null: q_proj straight from the hidden state
  readonly kvLoraRank: number;
  readonly qkNopeHeadDim: number;
  readonly qkRopeHeadDim: number; // even: rotated in interleaved pairs
  readonly vHeadDim: number;
  readonly nRoutedExperts: number; // 0: every layer is dense
  readonly nSharedExperts: number;
  readonly numExpertsPerTok: number;
  readonly nGroup: number;
  readonly topkGroup: number;
  readonly normTopkProb: boolean;
  readonly routedScalingFactor: number;
  readonly scoringFunc: 'sigmoid';
  readonly topkMethod: 'noaux_tc';
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly rope: RopeScaling;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  readonly numNextnPredictLayers: number; // MTP modules, stored as layers numLayers .. numLayers+n-1
  readonly quantization: Fp8Quantization | null; // null: a bf16 checkpoint
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
}

/** Sizes that follow from the config; derived once so every consumer agrees. */
export interface DerivedDims {
  readonly qkHeadDim: number; // nope + rope
  readonly kvLatentDim: number; // what the absorbed cache holds per token per layer: kv_lora + rope
  readonly expertsPerGroup: number;
  readonly denseLayers: readonly number[];
  readonly moeLayers: readonly number[];
}

export function isMoeLayer(config: ModelConfig, layer: number): boolean {
  return (
    config.nRoutedExperts > 0 &&
    layer >= config.firstKDenseReplace &&
    layer % config.moeLayerFreq === 0
  );
}

export function derivedDims(config: ModelConfig): DerivedDims {
  const layers = Array.from({ length: config.numLayers }, (_, i) => i);
  return {
    qkHeadDim: config.qkNopeHeadDim + config.qkRopeHeadDim,
    kvLatentDim: config.kvLoraRank + config.qkRopeHeadDim,
    expertsPerGroup: config.nRoutedExperts > 0 ? config.nRoutedExperts / config.nGroup : 0,
    denseLayers: layers.filter((l) => !isMoeLayer(config, l)),
    moeLayers: layers.filter((l) => isMoeLayer(config, l)),
  };
}
