// Helpers every resource class uses: reading JS arguments with precise errors, type-tagged
// unwrapping, and the disposed check. Kept here so each resource file is only its resource.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace dsv3c {

// A byte range borrowed from a JS ArrayBuffer, TypedArray, DataView or Node Buffer. Valid only
// during the current native call: JS may detach or collect the memory afterwards.
struct Bytes {
  uint8_t* data;
  size_t size;
};

// `what` names the argument in error messages, e.g. "cuda.Buffer.write: data".
Bytes bytesOf(const Napi::Value& value, const std::string& what);

// A non-negative integer from a number (must be an exact integer) or a bigint.
uint64_t toU64(const Napi::Value& value, const std::string& what);
// A signed integer from a number (exact integer) or a bigint.
int64_t toI64(const Napi::Value& value, const std::string& what);
// toU64 bounded by `max` (inclusive), for sizes and launch dimensions.
uint64_t toBounded(const Napi::Value& value, uint64_t max, const std::string& what);
// Optional argument: undefined (or missing) gives `fallback`.
uint64_t optionalBounded(const Napi::CallbackInfo& info, size_t index, uint64_t max,
                         uint64_t fallback, const std::string& what);
std::string toString(const Napi::Value& value, const std::string& what);
// A launch dimension: a number (x; y = z = 1) or an array [x, y?, z?], each in [1, 2^32).
void readDims(const Napi::Value& value, uint32_t out[3], const std::string& what);
// Throws a RangeError unless [offset, offset + bytes) lies inside a buffer of `size` bytes.
void checkRange(Napi::Env env, uint64_t offset, uint64_t bytes, uint64_t size, const std::string& what);

// A type tag marks each wrapped class (Node-API 8), so passing an object of the wrong class is a
// TypeError instead of the addon reinterpreting unrelated memory.
template <class T>
T* unwrapAs(const Napi::Value& value, const std::string& what) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&T::kTypeTag)) {
    throw Napi::TypeError::New(value.Env(), what + " must be a " + T::kClassName);
  }
  return T::Unwrap(value.As<Napi::Object>());
}

// Thrown when a method is called after dispose(): a clear message instead of a use-after-free.
[[noreturn]] void throwDisposed(Napi::Env env, const std::string& className);

}  // namespace dsv3c
