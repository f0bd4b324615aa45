#!/usr/bin/env python3
"""Golden logits from Hugging Face transformers' DeepseekV3ForCausalLM for a tiny checkpoint, as a
fixture the cpu target is compared with in CI (test/e2e/hf-golden.test.ts).

The checkpoint (made by `dsv3c make-tiny --config configs/NAME.json --seed S --out DIR`) is
dequantized to float32 (each e4m3 weight times its 128x128 block's weight_scale_inv), the MTP layer
dropped, and written with a config without quantization_config to a temp folder that
`from_pretrained` loads, so whatever checkpoint conversions the installed transformers applies
(e.g. fused expert tensors) are its own. The model runs in float32 on the GPU (or cpu), one forward
per prompt, and the fixture records config, seed, the checkpoint's sha256s and every prompt
position's logits.

    dsv3c make-tiny --config configs/tiny-moe-128.json --seed 7 --out DIR   # 2 shards, the default
    python3 benchmarks/peers/hf_golden.py --checkpoint DIR --config-name tiny-moe-128 --seed 7 \
        --out test/fixtures/hf-golden/tiny-moe-128-seed7.json
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile

PROMPTS = [[0, 5, 9, 33, 100, 7, 2, 64], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], [42]]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dequantized_state(torch, safe_open, ckpt, num_layers):
    files = sorted(f for f in os.listdir(ckpt) if f.endswith(".safetensors"))
    tensors = {}
    for name in files:
        with safe_open(os.path.join(ckpt, name), framework="pt") as f:
            for key in f.keys():
                tensors[key] = f.get_tensor(key)
    state = {}
    for key, t in tensors.items():
        if key.endswith(".weight_scale_inv"):
            continue
        parts = key.split(".")
        if len(parts) > 2 and parts[1] == "layers" and int(parts[2]) >= num_layers:
            continue  # the MTP layer: not part of DeepseekV3ForCausalLM's forward
        w = t.to(torch.float32)
        scale = tensors.get(key[: -len(".weight")] + ".weight_scale_inv") if key.endswith(".weight") else None
        if scale is not None:
            n, k = w.shape
            s = scale.to(torch.float32).repeat_interleave(128, 0).repeat_interleave(128, 1)[:n, :k]
            w = w * s
        state[key] = w.contiguous()
    return state


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--config-name", required=True, help="configs/NAME.json the checkpoint was made from")
    ap.add_argument("--seed", required=True, type=int)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    import torch
    import transformers
    from safetensors import safe_open
    from safetensors.torch import save_file
    from transformers import DeepseekV3ForCausalLM

    with open(os.path.join(args.checkpoint, "config.json")) as f:
        config = json.load(f)
    if config.get("quantization_config", {}).get("weight_block_size", [128, 128]) != [128, 128]:
        sys.exit("hf_golden: only 128x128 FP8 blocks are handled")
    state = dequantized_state(torch, safe_open, args.checkpoint, config["num_hidden_layers"])
    config.pop("quantization_config", None)
    config["torch_dtype"] = "float32"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(config, f)
        save_file(state, os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        model = DeepseekV3ForCausalLM.from_pretrained(tmp, torch_dtype=torch.float32).to(device).eval()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    logits = []
    with torch.no_grad():
        for ids in PROMPTS:
            out = model(input_ids=torch.tensor([ids], device=device)).logits[0]
            logits.append(out.double().cpu().tolist())
    files = sorted(f for f in os.listdir(args.checkpoint) if not f.startswith("."))
    fixture = {
        "what": "HF transformers DeepseekV3ForCausalLM, float32, dequantized weights: logits of every prompt position",
        "config": args.config_name,
        "seed": args.seed,
        "checkpoint_sha256": {f: sha256(os.path.join(args.checkpoint, f)) for f in files},
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
        "prompts": PROMPTS,
        "logits": logits,
    }
    tmp_out = args.out + ".tmp"
    with open(tmp_out, "w") as f:
        json.dump(fixture, f)
    os.replace(tmp_out, args.out)
    print(json.dumps({"wrote": args.out, "prompts": len(PROMPTS)}))


if __name__ == "__main__":
    main()
