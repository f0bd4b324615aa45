// What the cpu and GPU Programs share: reading a launch's argument patches at construction and a
// run's params and grids. A Program is a fixed list of launches whose argument templates are
// complete at construction except for "patched" slots, which each run rewrites from its params:
//   slot = base + sum(scale * params[param])     (base: the template's value in that slot)
// so one Program serves every step size (symbols as int arguments) and every KV row (a pointer
// plus row * rowBytes), with pointers otherwise fixed.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dsv3c {

struct PatchTerm {
  uint32_t param;
  int64_t scale;
};

struct ArgPatch {
  uint32_t at;     // GPU: byte offset in the parameter blob; cpu: argument index
  uint32_t bytes;  // 4 or 8 (cpu: 8)
  int64_t base = 0;
  std::vector<PatchTerm> terms;
  // Two's complement wrap, never undefined: an out-of-range pointer is the kernel's to fault on.
  int64_t value(const int64_t* params) const {
    uint64_t v = static_cast<uint64_t>(base);
    for (const PatchTerm& t : terms) v += static_cast<uint64_t>(t.scale) * static_cast<uint64_t>(params[t.param]);
    return static_cast<int64_t>(v);
  }
};

// A launch's `patches` (undefined: none). GPU patches are { at, param, scale = 1, bytes = 8 } with
// `at` a byte offset below `limit` (the blob's size) aligned to `bytes`; cpu patches (gpu false)
// are { arg, param, scale = 1 } with `arg` below `limit` (the argument count). Patches of the same
// slot add up; slots that overlap otherwise are an error. `where` names the launch.
std::vector<ArgPatch> readPatches(const Napi::Value& value, bool gpu, uint64_t limit, uint32_t paramCount,
                                  const std::string& where);

// Per-run inputs: params (exactly paramCount integers: Int32Array, BigInt64Array, Float64Array or an
// array of numbers/bigints) and grids (an Int32Array of 3 per launch, or undefined: each launch's
// static grid). A grid with an entry below 1 skips its launch (an empty step for that kernel).
struct RunInputs {
  std::vector<int64_t> params;
  std::vector<int32_t> grids;  // 3 per launch, always filled
};
RunInputs readRunInputs(const Napi::Object& options, uint32_t paramCount, const std::vector<int32_t>& staticGrids,
                        const std::string& where, const std::vector<std::string>& launchNames);

// A launch's static grid: undefined (none: [0, 0, 0], and each run must give grids), a number x,
// or [x, y?, z?], each entry in [1, 2^31).
void readStaticGrid(const Napi::Value& value, int32_t out[3], const std::string& what);

// "launch 3 (kernel rmsnorm_bf16)", for every message about one launch.
std::string launchLabel(size_t index, const std::string& kernel);

}  // namespace dsv3c
