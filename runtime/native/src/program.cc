#include "program.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "common.h"

namespace dsv3c {

std::string launchLabel(size_t index, const std::string& kernel) {
  return "launch " + std::to_string(index) + " (kernel " + kernel + ")";
}

std::vector<ArgPatch> readPatches(const Napi::Value& value, bool gpu, uint64_t limit, uint32_t paramCount,
                                  const std::string& where) {
  std::vector<ArgPatch> out;
  if (value.IsUndefined()) return out;
  Napi::Env env = value.Env();
  if (!value.IsArray()) throw Napi::TypeError::New(env, where + ": patches must be an array");
  auto array = value.As<Napi::Array>();
  std::map<uint32_t, size_t> bySlot;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    const std::string what = where + ": patch " + std::to_string(i);
    Napi::Value item = array.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, what + " must be an object");
    Napi::Object patch = item.As<Napi::Object>();
    uint32_t bytes = 8;
    if (gpu && !patch.Get("bytes").IsUndefined()) {
      bytes = static_cast<uint32_t>(toBounded(patch.Get("bytes"), 8, what + ": bytes"));
      if (bytes != 4 && bytes != 8) throw Napi::RangeError::New(env, what + ": bytes must be 4 or 8");
    }
    const char* slotKey = gpu ? "at" : "arg";
    uint64_t at = toU64(patch.Get(slotKey), what + ": " + slotKey);
    if (gpu ? (at % bytes != 0 || at + bytes > limit) : at >= limit) {
      throw Napi::RangeError::New(
          env, gpu ? what + ": " + std::to_string(bytes) + " bytes at " + std::to_string(at) +
                         " must be aligned and inside the " + std::to_string(limit) + "-byte argument blob"
                   : what + ": arg " + std::to_string(at) + " is past the kernel's " + std::to_string(limit) +
                         " argument(s)");
    }
    uint64_t param = toU64(patch.Get("param"), what + ": param");
    if (param >= paramCount) {
      throw Napi::RangeError::New(env, what + ": param " + std::to_string(param) + " is past the program's " +
                                           std::to_string(paramCount) + " param(s)");
    }
    Napi::Value scaleValue = patch.Get("scale");
    int64_t scale = scaleValue.IsUndefined() ? 1 : toI64(scaleValue, what + ": scale");
    auto found = bySlot.find(static_cast<uint32_t>(at));
    if (found == bySlot.end()) {
      bySlot.emplace(static_cast<uint32_t>(at), out.size());
      out.push_back(ArgPatch{static_cast<uint32_t>(at), bytes, 0, {}});
      found = bySlot.find(static_cast<uint32_t>(at));
    } else if (out[found->second].bytes != bytes) {
      throw Napi::RangeError::New(env, what + ": another patch of the slot at " + std::to_string(at) +
                                           " has a different width");
    }
    out[found->second].terms.push_back(PatchTerm{static_cast<uint32_t>(param), scale});
  }
  // Distinct slots must not overlap (a 4-byte patch inside an 8-byte one).
  std::vector<const ArgPatch*> sorted;
  for (const ArgPatch& p : out) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), [](const ArgPatch* a, const ArgPatch* b) { return a->at < b->at; });
  for (size_t i = 1; gpu && i < sorted.size(); ++i) {
    if (sorted[i - 1]->at + sorted[i - 1]->bytes > sorted[i]->at) {
      throw Napi::RangeError::New(env, where + ": patches at bytes " + std::to_string(sorted[i - 1]->at) + " and " +
                                           std::to_string(sorted[i]->at) + " overlap");
    }
  }
  return out;
}

void readStaticGrid(const Napi::Value& value, int32_t out[3], const std::string& what) {
  out[0] = out[1] = out[2] = 0;
  if (value.IsUndefined()) return;
  const uint64_t max = std::numeric_limits<int32_t>::max();
  out[1] = out[2] = 1;
  if (value.IsArray()) {
    auto array = value.As<Napi::Array>();
    if (array.Length() < 1 || array.Length() > 3) throw Napi::RangeError::New(value.Env(), what + " must have 1 to 3 entries");
    for (uint32_t i = 0; i < array.Length(); ++i) {
      out[i] = static_cast<int32_t>(toBounded(array.Get(i), max, what + "[" + std::to_string(i) + "]"));
    }
  } else {
    out[0] = static_cast<int32_t>(toBounded(value, max, what));
  }
  for (int i = 0; i < 3; ++i) {
    if (out[i] == 0) throw Napi::RangeError::New(value.Env(), what + " entries must be at least 1");
  }
}

namespace {

std::vector<int64_t> readParams(const Napi::Value& value, uint32_t count, const std::string& what) {
  std::vector<int64_t> out;
  Napi::Env env = value.Env();
  if (value.IsUndefined()) {
    if (count != 0) throw Napi::TypeError::New(env, what + ": the program takes " + std::to_string(count) + " param(s)");
    return out;
  }
  if (value.IsTypedArray()) {
    auto array = value.As<Napi::TypedArray>();
    const size_t n = array.ElementLength();
    const auto* base = static_cast<const uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    out.resize(n);
    switch (array.TypedArrayType()) {
      case napi_int32_array:
        for (size_t i = 0; i < n; ++i) out[i] = reinterpret_cast<const int32_t*>(base)[i];
        break;
      case napi_bigint64_array:
        for (size_t i = 0; i < n; ++i) out[i] = reinterpret_cast<const int64_t*>(base)[i];
        break;
      case napi_float64_array:
        for (size_t i = 0; i < n; ++i) {
          double d = reinterpret_cast<const double*>(base)[i];
          if (!(std::fabs(d) <= 9007199254740992.0) || std::floor(d) != d) {
            throw Napi::RangeError::New(env, what + "[" + std::to_string(i) + "] must be an integer");
          }
          out[i] = static_cast<int64_t>(d);
        }
        break;
      default:
        throw Napi::TypeError::New(env, what + " must be an Int32Array, BigInt64Array, Float64Array or array");
    }
  } else if (value.IsArray()) {
    auto array = value.As<Napi::Array>();
    out.resize(array.Length());
    for (uint32_t i = 0; i < array.Length(); ++i) out[i] = toI64(array.Get(i), what + "[" + std::to_string(i) + "]");
  } else {
    throw Napi::TypeError::New(env, what + " must be an Int32Array, BigInt64Array, Float64Array or array");
  }
  if (out.size() != count) {
    throw Napi::RangeError::New(env, what + ": the program takes " + std::to_string(count) + " param(s), got " +
                                         std::to_string(out.size()));
  }
  return out;
}

}  // namespace

RunInputs readRunInputs(const Napi::Object& options, uint32_t paramCount, const std::vector<int32_t>& staticGrids,
                        const std::string& where, const std::vector<std::string>& launchNames) {
  Napi::Env env = options.Env();
  RunInputs out;
  out.params = readParams(options.Get("params"), paramCount, where + ": params");
  Napi::Value grids = options.Get("grids");
  const size_t launches = launchNames.size();
  if (grids.IsUndefined()) {
    out.grids = staticGrids;
    for (size_t i = 0; i < launches; ++i) {
      if (out.grids[3 * i] == 0) {
        throw Napi::Error::New(env, where + ": " + launchLabel(i, launchNames[i]) +
                                        " has no static grid: pass grids (3 per launch)");
      }
    }
    return out;
  }
  if (!grids.IsTypedArray() || grids.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, where + ": grids must be an Int32Array (3 per launch)");
  }
  auto array = grids.As<Napi::Int32Array>();
  if (array.ElementLength() != 3 * launches) {
    throw Napi::RangeError::New(env, where + ": grids has " + std::to_string(array.ElementLength()) +
                                         " entries; the program's " + std::to_string(launches) + " launch(es) need " +
                                         std::to_string(3 * launches));
  }
  out.grids.assign(array.Data(), array.Data() + 3 * launches);
  return out;
}

}  // namespace dsv3c
