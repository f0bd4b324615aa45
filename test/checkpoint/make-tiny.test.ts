import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeBF16Array } from '../../compiler/checkpoint/bf16.ts';
import { dequantizeBlocks } from '../../compiler/checkpoint/block-quant.ts';
import { openCheckpoint } from '../../compiler/checkpoint/checkpoint.ts';
import { float32FromBytes } from '../../compiler/checkpoint/host-endian.ts';
import { BOS_TOKEN, EOS_TOKEN } from '../../compiler/checkpoint/tiny-tokenizer.ts';
import { loadConfig } from '../../compiler/config/parse-config.ts';
import { checkpointTensors } from '../../compiler/model/checkpoint-tensors.ts';
import { check, makeTiny, tempFolder, TINY_CONFIGS } from './helpers.ts';

const tmp = tempFolder('make-tiny');
afterAll(tmp.cleanup);

describe('make-tiny then check', () => {
  for (const config of TINY_CONFIGS) {
    const name = config.split('/').pop()!.replace('.json', '');
    it(`passes for ${name} (hidden ${loadConfig(config).hiddenSize})`, async () => {
      const dir = join(tmp.dir, name);
      await makeTiny(config, dir, { shards: 3 });
      const { status, output } = await check(dir);
      expect(output).toContain('ok: no problems');
      expect(status).toBe(0);
      expect(readdirSync(dir).sort()).toEqual([
        'config.json',
        'model-00001-of-00003.safetensors',
        'model-00002-of-00003.safetensors',
        'model-00003-of-00003.safetensors',
        'model.safetensors.index.json',
        'tokenizer.json',
        'tokenizer_config.json',
      ]);
      expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe(readFileSync(config, 'utf8'));
      // The MTP module is stored as the layer after the last main one.
      const cfg = loadConfig(config);
      const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
      expect(`model.layers.${cfg.numLayers}.eh_proj.weight` in index.weight_map).toBe(cfg.numNextnPredictLayers > 0);
    });
  }

  it('writes a single model.safetensors without index for --shards 1, and check accepts it', async () => {
    const dir = join(tmp.dir, 'single');
    await makeTiny(TINY_CONFIGS[0], dir, { shards: 1 });
    expect(readdirSync(dir)).toContain('model.safetensors');
    expect(readdirSync(dir)).not.toContain('model.safetensors.index.json');
    expect((await check(dir)).status).toBe(0);
  });
});

describe('make-tiny output', () => {
  // Small and off the 128 grid (hidden 200): cheap to write several times.
  const config = TINY_CONFIGS.find((c) => c.includes('noqlora'))!;

  it('is byte-identical for the same seed, different for another, and its tensors do not depend on the shard split', async () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((s) => join(tmp.dir, `det-${s}`));
    await makeTiny(config, a, { seed: 7, shards: 2 });
    await makeTiny(config, b, { seed: 7, shards: 2 });
    await makeTiny(config, c, { seed: 8, shards: 2 });
    await makeTiny(config, d, { seed: 7, shards: 4 });
    for (const f of readdirSync(a)) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);
    const shard = 'model-00001-of-00002.safetensors';
    expect(readFileSync(join(c, shard)).equals(readFileSync(join(a, shard)))).toBe(false);
    const [ca, cd] = await Promise.all([openCheckpoint(a), openCheckpoint(d)]);
    for (const n of ca.names()) expect(Buffer.from(await cd.readTensor(n)).equals(Buffer.from(await ca.readTensor(n))), n).toBe(true);
    await Promise.all([ca.close(), cd.close()]);
  });

  it('holds every tensor of the config with sensible values: FP8 linears ~ N(0, 1/in_features), norms near 1', async () => {
    const dir = join(tmp.dir, 'values');
    await makeTiny(config, dir, { seed: 3 });
    const cfg = loadConfig(config);
    const ckpt = await openCheckpoint(dir);
    const expected = checkpointTensors(cfg);
    expect(ckpt.names().sort()).toEqual(expected.map((t) => t.name).sort());
    const w = 'model.layers.1.mlp.experts.5.down_proj';
    const [rows, cols] = ckpt.tensor(`${w}.weight`)!.shape;
    const values = dequantizeBlocks(
      { fp8: await ckpt.readTensor(`${w}.weight`), scaleInv: float32FromBytes(await ckpt.readTensor(`${w}.weight_scale_inv`)) },
      rows,
      cols,
    );
    const std = Math.sqrt(values.reduce((a, v) => a + v * v, 0) / values.length);
    expect(std * Math.sqrt(cols)).toBeGreaterThan(0.9);
    expect(std * Math.sqrt(cols)).toBeLessThan(1.1);
    const norm = decodeBF16Array(await ckpt.readTensor('model.norm.weight'));
    expect(norm.every((v) => v > 0.7 && v < 1.3)).toBe(true);
    await ckpt.close();
  });

  it('writes a byte-level BPE tokenizer with the specials at the config bos/eos ids, within vocab_size', async () => {
    const dir = join(tmp.dir, 'values');
    const cfg = loadConfig(config);
    const tok = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const tc = JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(tok.model.type).toBe('BPE');
    expect(tok.pre_tokenizer.type).toBe('ByteLevel');
    expect(tok.decoder.type).toBe('ByteLevel');
    const vocab = tok.model.vocab as Record<string, number>;
    const ids = Object.values(vocab);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Math.max(...ids)).toBeLessThan(cfg.vocabSize);
    expect(vocab[BOS_TOKEN]).toBe(cfg.bosTokenId);
    expect(vocab[EOS_TOKEN]).toBe(cfg.eosTokenId);
    expect(ids.length).toBeGreaterThanOrEqual(258);
    // Every merge joins two tokens already in the vocab into one that is too.
    for (const m of tok.model.merges as string[]) {
      const [x, y] = m.split(' ');
      expect(vocab[x] !== undefined && vocab[y] !== undefined && vocab[x + y] !== undefined, m).toBe(true);
    }
    expect(tc).toMatchObject({ add_bos_token: true, bos_token: BOS_TOKEN, eos_token: EOS_TOKEN });
    expect(tc.chat_template).toContain('bos_token');
  });
});
