#!/usr/bin/env bash
# System packages the tests use beyond Node: Debian's hipcc, so that every HIP kernel is compiled
# for gfx90a and gfx940 (test/codegen/gpu-compile.test.ts). Its dependencies (clang-15, lld-15,
# rocm-device-libs, libamdhip64-dev) are all it needs to build device code; nothing else is fetched.
# Idempotent: does nothing when hipcc already runs. Never fails CI: without apt (or when the
# install fails) it warns, and the HIP compile tests then skip with that reason.
set -uo pipefail

# Debian's hipcc (ROCm 5.2) picks the platform from the environment; build.ts sets the same.
export HIP_PLATFORM=amd

hipcc_works() {
  local h
  h=$(command -v hipcc || { [ -x /opt/rocm/bin/hipcc ] && echo /opt/rocm/bin/hipcc; }) || return 1
  "$h" --version >/dev/null 2>&1
}

if hipcc_works; then
  echo "install-system-deps: hipcc present ($(command -v hipcc || echo /opt/rocm/bin/hipcc)), nothing to do"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: WARNING: hipcc is absent and apt-get is not available;" \
    "the HIP compile tests will be skipped" >&2
  exit 0
fi

# Root runs apt directly; otherwise sudo without a password prompt (CI must not hang on one).
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo -n)
  else
    echo "install-system-deps: WARNING: hipcc is absent, not root and no sudo;" \
      "the HIP compile tests will be skipped" >&2
    exit 0
  fi
fi

echo "install-system-deps: installing Debian's hipcc (apt-get update; apt-get install hipcc)"
export DEBIAN_FRONTEND=noninteractive
if "${as_root[@]}" apt-get update -q &&
  "${as_root[@]}" apt-get install -y -q --no-install-recommends hipcc; then
  if hipcc_works; then
    echo "install-system-deps: hipcc installed: $(hipcc --version 2>/dev/null | head -n 1)"
    exit 0
  fi
fi
echo "install-system-deps: WARNING: installing hipcc failed; the HIP compile tests will be skipped" >&2
exit 0
