#!/usr/bin/env python3
"""Roofline peers for gpu-check, measured with PyTorch on the same GPU in the same run: the
device-to-device copy bandwidth (Tensor.copy_ of 1 GiB, read + write bytes counted) and
torch.matmul rates (fp32 with TF32 off, TF32, bf16, and fp8 e4m3 through torch._scaled_mm when
present), timed with CUDA events after warm-up, median of runs. Prints one JSON object on stdout;
on any problem prints {"error": ...} and exits 0, so the caller records a visible skip."""
import json
import sys


def median(xs):
    s = sorted(xs)
    return s[len(s) // 2]


def timed(torch, fn, runs=20, warmup=3):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    ms = []
    for _ in range(runs):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ms.append(a.elapsed_time(b))
    return median(ms) / 1e3


def main():
    try:
        import torch
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": f"import torch failed: {e}"}))
        return
    if not torch.cuda.is_available():
        print(json.dumps({"error": "torch.cuda.is_available() is False"}))
        return
    props = torch.cuda.get_device_properties(0)
    out = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": props.name,
        "l2Bytes": getattr(props, "L2_cache_size", None),
        "smCount": props.multi_processor_count,
        "totalMemBytes": props.total_memory,
    }
    n = 1 << 30
    src = torch.empty(n, dtype=torch.uint8, device="cuda").random_(0, 255)
    dst = torch.empty_like(src)
    t = timed(torch, lambda: dst.copy_(src))
    out["copy"] = {"bytes": 2 * n, "seconds": t, "bytesPerSecond": 2 * n / t}
    del src, dst

    rates = {}
    m = 8192
    for name, dtype, tf32 in (("fp32", torch.float32, False), ("tf32", torch.float32, True), ("bf16", torch.bfloat16, False)):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        a = torch.randn(m, m, device="cuda", dtype=dtype)
        b = torch.randn(m, m, device="cuda", dtype=dtype)
        t = timed(torch, lambda: torch.matmul(a, b), runs=10)
        rates[name] = {"m": m, "n": m, "k": m, "seconds": t, "flopsPerSecond": 2 * m**3 / t}
        del a, b
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        a = torch.randn(m, m, device="cuda").to(torch.float8_e4m3fn)
        b = torch.randn(m, m, device="cuda").to(torch.float8_e4m3fn).t()
        one = torch.tensor(1.0, device="cuda")
        t = timed(torch, lambda: torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=torch.bfloat16), runs=10)
        rates["fp8"] = {"m": m, "n": m, "k": m, "seconds": t, "flopsPerSecond": 2 * m**3 / t}
    except Exception as e:  # noqa: BLE001
        rates["fp8"] = {"error": str(e).splitlines()[0] if str(e) else type(e).__name__}
    out["matmul"] = rates
    print(json.dumps(out))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
    sys.exit(0)
