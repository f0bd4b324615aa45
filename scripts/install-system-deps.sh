#!/usr/bin/env bash
# System packages the tests use beyond Node: none yet. Later: Debian's hipcc for HIP kernel builds.
set -euo pipefail
exit 0
