import type { ModelConfig } from '../config/model-config.ts';
import { isMoeLayer } from '../config/model-config.ts';

/** The dtypes a DeepSeek-V3 checkpoint stores, spelled as safetensors spells them. */
export type CheckpointDType = 'F8_E4M3' | 'BF16' | 'F32';

/** What part of the model a tensor belongs to; the rows of `dsv3c inspect`. */
export type ModuleKind =
  | 'embedding'
  | 'attention'
  | 'dense_mlp'
  | 'router'
  | 'routed_experts'
  | 'shared_experts'
  | 'norm'
  | 'lm_head'
  | 'mtp';

export interface CheckpointTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: CheckpointDType;
  readonly module: ModuleKind;
  /** Decoder layer index (MTP layers continue after the main ones); null outside layers. */
  readonly layer: number | null;
  /** Routed expert index, for per-token active counts. */
  readonly expert?: number;
  /** Set on a `weight_scale_inv`: the FP8 weight it scales. */
  readonly scaleOf?: string;
}

/**
 * Every tensor a checkpoint of this config holds, in a fixed order, named as the Hugging Face
 * checkpoint names them. A linear is FP8 with a `weight_scale_inv` companion when the config is
 * quantized; embeddings, norms, the router gate, eh_proj and the heads never are. With
 * `includeExpert`, only the routed experts it accepts are listed (the order stays the same).
 */
export function checkpointTensors(config: ModelConfig, includeExpert?: (expert: number) => boolean): CheckpointTensor[] {
  const out: CheckpointTensor[] = [];
  const H = config.hiddenSize;
  const plain = (name: string, shape: number[], module: ModuleKind, layer: number | null, dtype: CheckpointDType = 'BF16') =>
    out.push({ name, shape, dtype, module, layer });
  const linear = (name: string, outDim: number, inDim: number, module: ModuleKind, layer: number | null, expert?: number) => {
    const q = config.quantization;
    const weight = `${name}.weight`;
    out.push({ name: weight, shape: [outDim, inDim], dtype: q ? 'F8_E4M3' : 'BF16', module, layer, expert });
    if (q) {
      const scaleShape = [Math.ceil(outDim / q.blockN), Math.ceil(inDim / q.blockK)];
      out.push({ name: `${name}.weight_scale_inv`, shape: scaleShape, dtype: 'F32', module, layer, expert, scaleOf: weight });
    }
  };

  plain('model.embed_tokens.weight', [config.vocabSize, H], 'embedding', null);
  const totalLayers = config.numLayers + config.numNextnPredictLayers;
  for (let l = 0; l < totalLayers; l++) {
    const mtp = l >= config.numLayers;
    const p = `model.layers.${l}`;
    if (mtp) {
      // The MTP module: its own copies of embedding and head, plus the projection that mixes them in.
      plain(`${p}.embed_tokens.weight`, [config.vocabSize, H], 'mtp', l);
      plain(`${p}.enorm.weight`, [H], 'mtp', l);
      plain(`${p}.hnorm.weight`, [H], 'mtp', l);
      plain(`${p}.eh_proj.weight`, [H, 2 * H], 'mtp', l);
    }
    const kind = (k: ModuleKind): ModuleKind => (mtp ? 'mtp' : k);
    attentionTensors(config, `${p}.self_attn`, l, kind('attention'), plain, linear);
    if (isMoeLayer(config, l)) {
      const E = config.nRoutedExperts;
      const I = config.moeIntermediateSize;
      for (let e = 0; e < E; e++) {
        if (includeExpert && !includeExpert(e)) continue;
        linear(`${p}.mlp.experts.${e}.gate_proj`, I, H, kind('routed_experts'), l, e);
        linear(`${p}.mlp.experts.${e}.up_proj`, I, H, kind('routed_experts'), l, e);
        linear(`${p}.mlp.experts.${e}.down_proj`, H, I, kind('routed_experts'), l, e);
      }
      plain(`${p}.mlp.gate.weight`, [E, H], kind('router'), l);
      plain(`${p}.mlp.gate.e_score_correction_bias`, [E], kind('router'), l, 'F32');
      if (config.nSharedExperts > 0) {
        const S = I * config.nSharedExperts;
        linear(`${p}.mlp.shared_experts.gate_proj`, S, H, kind('shared_experts'), l);
        linear(`${p}.mlp.shared_experts.up_proj`, S, H, kind('shared_experts'), l);
        linear(`${p}.mlp.shared_experts.down_proj`, H, S, kind('shared_experts'), l);
      }
    } else {
      const I = config.intermediateSize;
      linear(`${p}.mlp.gate_proj`, I, H, kind('dense_mlp'), l);
      linear(`${p}.mlp.up_proj`, I, H, kind('dense_mlp'), l);
      linear(`${p}.mlp.down_proj`, H, I, kind('dense_mlp'), l);
    }
    plain(`${p}.input_layernorm.weight`, [H], kind('norm'), l);
    plain(`${p}.post_attention_layernorm.weight`, [H], kind('norm'), l);
    if (mtp) {
      plain(`${p}.shared_head.norm.weight`, [H], 'mtp', l);
      plain(`${p}.shared_head.head.weight`, [config.vocabSize, H], 'mtp', l);
    }
  }
  plain('model.norm.weight', [H], 'norm', null);
  if (!config.tieWordEmbeddings) plain('lm_head.weight', [config.vocabSize, H], 'lm_head', null);
  return out;
}

type Plain = (name: string, shape: number[], module: ModuleKind, layer: number | null, dtype?: CheckpointDType) => void;
type Linear = (name: string, outDim: number, inDim: number, module: ModuleKind, layer: number | null) => void;

function attentionTensors(config: ModelConfig, p: string, l: number, module: ModuleKind, plain: Plain, linear: Linear): void {
  const H = config.hiddenSize;
  const heads = config.numHeads;
  const qkHead = config.qkNopeHeadDim + config.qkRopeHeadDim;
  if (config.qLoraRank === null) {
    linear(`${p}.q_proj`, heads * qkHead, H, module, l);
  } else {
    linear(`${p}.q_a_proj`, config.qLoraRank, H, module, l);
    plain(`${p}.q_a_layernorm.weight`, [config.qLoraRank], module, l);
    linear(`${p}.q_b_proj`, heads * qkHead, config.qLoraRank, module, l);
  }
  linear(`${p}.kv_a_proj_with_mqa`, config.kvLoraRank + config.qkRopeHeadDim, H, module, l);
  plain(`${p}.kv_a_layernorm.weight`, [config.kvLoraRank], module, l);
  linear(`${p}.kv_b_proj`, heads * (config.qkNopeHeadDim + config.vHeadDim), config.kvLoraRank, module, l);
  linear(`${p}.o_proj`, H, heads * config.vHeadDim, module, l);
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export const CHECKPOINT_DTYPE_BYTES: Readonly<Record<CheckpointDType, number>> = { F8_E4M3: 1, BF16: 2, F32: 4 };
