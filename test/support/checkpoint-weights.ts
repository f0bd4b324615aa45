/**
 * A checkpoint folder as the reference forward's weights: every tensor decoded to float64 as
 * stored (e4m3fn codes to their values, bf16 bits to theirs, float32 as is). Independent of the
 * runtime's loader: it reads whole tensors and knows nothing of manifests or recipes.
 */
import { decodeBF16 } from '../../compiler/checkpoint/bf16.ts';
import { openCheckpoint } from '../../compiler/checkpoint/checkpoint.ts';
import { decodeE4M3FN } from '../../compiler/checkpoint/fp8.ts';
import type { RefTensor } from '../reference/weights.ts';

export async function checkpointRefWeights(dir: string): Promise<Map<string, RefTensor>> {
  const checkpoint = await openCheckpoint(dir);
  try {
    const out = new Map<string, RefTensor>();
    for (const name of checkpoint.names()) {
      const info = checkpoint.tensor(name)!;
      const bytes = await checkpoint.readTensor(name);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const n = info.shape.reduce((a, b) => a * b, 1);
      const data = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        if (info.dtype === 'F8_E4M3') data[i] = decodeE4M3FN(bytes[i]);
        else if (info.dtype === 'BF16') data[i] = decodeBF16(view.getUint16(2 * i, true));
        else if (info.dtype === 'F32') data[i] = view.getFloat32(4 * i, true);
        else throw new Error(`${name}: dtype ${info.dtype} is not one a DeepSeek-V3 checkpoint holds`);
      }
      out.set(name, { shape: [...info.shape], data });
    }
    return out;
  } finally {
    await checkpoint.close();
  }
}
