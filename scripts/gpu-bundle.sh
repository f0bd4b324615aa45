#!/usr/bin/env bash
# Prepares .gpu/ (ignored by git): everything the GPU machine needs to run every GPU check of
# dsv3c while building nothing there (see ../shared/GPU.md and benchmarks/gpu-check/layout.ts):
#   dsv3c.mjs          the CLI + gpu-check as one esbuild bundle (node20, ESM; no node_modules)
#   dsv3c_native.node  the native addon (runtime/native, built here; the bundle loads it via $DSV3C_NATIVE_ADDON)
#   node.xz            Node itself, xz-compressed
#   bundle.json, configs/, packages/ (cuda sm_90a cubins), checkpoints/ (make-tiny), peers/
# On the GPU machine (from the folder holding .gpu/):
#   xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
#   /tmp/node .gpu/dsv3c.mjs gpu-check --out "$OUT"
# Usage: bash scripts/gpu-bundle.sh [OUT_DIR (default .gpu)]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-.gpu}"
limit=$((56 * 1024 * 1024))   # GPU.md: at most 64 MiB travel with a command; keep room for the rest
started=$(date +%s)
mkdir -p "$out"

addon=runtime/native/build/Release/dsv3c_native.node
[ -f "$addon" ] || node scripts/build-native.mjs
cp "$addon" "$out/dsv3c_native.node"

command -v nvcc >/dev/null || [ -x /usr/local/cuda/bin/nvcc ] || [ -n "${DSV3C_NVCC:-}" ] ||
  { echo "gpu-bundle: nvcc not found (install the CUDA toolkit or set DSV3C_NVCC)" >&2; exit 1; }

echo "gpu-bundle: packages, checkpoints and peers (nvcc, sm_90a; kernels cached in \${DSV3C_CACHE_DIR:-~/.cache/dsv3c})" >&2
npx tsx benchmarks/gpu-check/prepare.ts --out "$out"

echo "gpu-bundle: esbuild → $out/dsv3c.mjs" >&2
node benchmarks/gpu-check/esbuild.mjs "$out/dsv3c.mjs"

# Node itself: compressed once per node binary (the version is remembered beside it).
node_bin="$(command -v node)"
node_id="$(node --version) $(stat -c %s "$node_bin")"
if [ ! -f "$out/node.xz" ] || [ "$(cat "$out/node.id" 2>/dev/null)" != "$node_id" ]; then
  echo "gpu-bundle: xz $node_bin → $out/node.xz" >&2
  xz -T2 -3 -c "$node_bin" > "$out/node.xz.tmp" && mv "$out/node.xz.tmp" "$out/node.xz"
  echo "$node_id" > "$out/node.id"
fi

# The bundle must run without the source tree: a smoke test from another directory.
abs_out="$(cd "$out" && pwd)"
( cd /tmp && node "$abs_out/dsv3c.mjs" gpu-check --list > /dev/null )

total=$(du -sb "$out" | cut -f1)
echo "gpu-bundle: $out is $((total / 1024 / 1024)) MiB ($total bytes) in $(( $(date +%s) - started )) s:" >&2
( cd "$out" && du -sh dsv3c.mjs dsv3c_native.node node.xz bundle.json configs packages checkpoints peers ) >&2
if [ "$total" -gt "$limit" ]; then
  echo "gpu-bundle: $out is over $((limit / 1024 / 1024)) MiB (the GPU machine takes at most 64 MiB per command)" >&2
  exit 1
fi
cat >&2 <<MSG
gpu-bundle: ready. On the GPU machine, from the folder holding $out:
  xz -dc $out/node.xz > /tmp/node && chmod +x /tmp/node
  /tmp/node $out/dsv3c.mjs gpu-check --out "\$OUT"
MSG
