import type { ModelConfig } from '../config/model-config.ts';
import { elementCount, type CheckpointTensor } from '../model/checkpoint-tensors.ts';
import { encodeBF16Array } from './bf16.ts';
import { quantizeBlocks, type BlockQuantized } from './block-quant.ts';
import { assertLittleEndianHost } from './host-endian.ts';
import { normalArray } from './random.ts';

/**
 * Random tensor values for a tiny checkpoint, each a function of (seed, tensor name) alone, so a
 * tensor's bytes do not depend on the shard split or the order they are asked for.
 * Linears ~ N(0, 1/sqrt(in_features)) so activations keep their scale through a layer;
 * embeddings ~ N(0, 1) like the normalized hidden state; norms 1 + N(0, 0.05); the router's
 * correction bias N(0, 0.01): small next to sigmoid scores.
 */
export class TinyWeights {
  // weight name → its quantization, kept from the weight until its scale is asked for.
  private readonly pending = new Map<string, BlockQuantized>();
  private readonly byName: ReadonlyMap<string, CheckpointTensor>;

  /** `tensors`: what it will be asked for, checkpointTensors(config). */
  constructor(
    private readonly config: ModelConfig,
    private readonly seed: number,
    tensors: readonly CheckpointTensor[],
  ) {
    this.byName = new Map(tensors.map((t) => [t.name, t]));
  }

  /** The little-endian bytes of `t`. */
  bytes(t: CheckpointTensor): Uint8Array {
    if (t.scaleOf) {
      const q = this.pending.get(t.scaleOf) ?? this.quantized(t.scaleOf, this.values(this.tensor(t.scaleOf)));
      this.pending.delete(t.scaleOf);
      return f32Bytes(q.scaleInv);
    }
    const values = this.values(t);
    switch (t.dtype) {
      case 'F8_E4M3': {
        const q = this.quantized(t.name, values);
        this.pending.set(t.name, q);
        return q.fp8;
      }
      case 'BF16':
        return encodeBF16Array(values);
      case 'F32':
        return f32Bytes(values);
    }
  }

  private values(t: CheckpointTensor): Float32Array {
    const n = elementCount(t.shape);
    if (t.name.endsWith('e_score_correction_bias')) return normalArray(this.seed, t.name, n, 0.01);
    if (t.shape.length === 1) return normalArray(this.seed, t.name, n, 0.05, 1); // an RMSNorm weight
    if (t.name.endsWith('embed_tokens.weight')) return normalArray(this.seed, t.name, n, 1);
    return normalArray(this.seed, t.name, n, 1 / Math.sqrt(t.shape[t.shape.length - 1]));
  }

  private quantized(weight: string, values: Float32Array): BlockQuantized {
    const [rows, cols] = this.shapeOf(weight);
    const q = this.config.quantization!;
    return quantizeBlocks(values, rows, cols, { blockN: q.blockN, blockK: q.blockK });
  }

  private shapeOf(weight: string): [number, number] {
    const shape = this.tensor(weight).shape;
    if (shape.length !== 2) throw new Error(`TinyWeights: ${weight} is not a 2-D weight`);
    return [shape[0], shape[1]];
  }

  private tensor(name: string): CheckpointTensor {
    const t = this.byName.get(name);
    if (!t) throw new Error(`TinyWeights: ${name} is not a tensor of this config`);
    return t;
  }
}

function f32Bytes(values: Float32Array): Uint8Array {
  assertLittleEndianHost();
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
