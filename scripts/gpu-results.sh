#!/usr/bin/env bash
# Copies gpu-check results (one JSON per run, written under $OUT on the GPU machine) into
# benchmarks/results/, after checking each is a gpu-check result, and prints its summary.
# With the device tool, a run's $OUT files come back read-only under the reply's files_at:
#   bash scripts/gpu-results.sh <files_at>       # or any folders / files holding gpu-check-*.json
# Then commit them: git add benchmarks/results/gpu-check-*.json && git commit
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: bash scripts/gpu-results.sh DIR_OR_FILE..." >&2; exit 2; }
mapfile -t files < <(for a in "$@"; do if [ -d "$a" ]; then find "$a" -name 'gpu-check-*.json' -type f; else echo "$a"; fi; done | sort)
[ ${#files[@]} -gt 0 ] || { echo "gpu-results: no gpu-check-*.json under $*" >&2; exit 1; }
mkdir -p benchmarks/results
for f in "${files[@]}"; do
  node -e '
    const fs = require("node:fs");
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    if (r.format !== "dsv3c-gpu-check/1") { console.error(`${process.argv[1]}: not a gpu-check result (format ${r.format})`); process.exit(1); }
    const checks = Object.entries(r.checks).map(([k, v]) => `${k} ${v.status}`).join(", ");
    console.log(`${process.argv[1]}: ${r.device.name}, ${r.date}, commit ${r.commit.slice(0, 12)}${r.dirty ? " (dirty)" : ""}: ${checks || "no checks"}`);
  ' "$f"
  cp "$f" "benchmarks/results/$(basename "$f")"
  chmod u+w "benchmarks/results/$(basename "$f")"
done
echo "gpu-results: copied ${#files[@]} file(s) to benchmarks/results/" >&2
