#!/usr/bin/env bash
# nvcc, with the source (the last argument) compiled from a copy under a short name: nvcc names
# its temp files tmpxft_…_<source basename>.cudafe1.c, which passes NAME_MAX (255) for dsv3c's
# longest instance names (e.g. mla_absorb_query__…_rowsB_symB__THREADS256.cu), so `compile --build`
# fails on them. scripts/gpu-bundle.sh builds through this ($DSV3C_NVCC); $DSV3C_REAL_NVCC is nvcc.
set -euo pipefail
real="${DSV3C_REAL_NVCC:-/usr/local/cuda/bin/nvcc}"
src="${*: -1}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
cp "$src" "$dir/kernel.${src##*.}"
"$real" "${@:1:$#-1}" "$dir/kernel.${src##*.}"
