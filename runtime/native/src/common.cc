#include "common.h"

#include <cmath>
#include <limits>

namespace dsv3c {

Bytes bytesOf(const Napi::Value& value, const std::string& what) {
  if (value.IsArrayBuffer()) {
    auto buffer = value.As<Napi::ArrayBuffer>();
    return {static_cast<uint8_t*>(buffer.Data()), buffer.ByteLength()};
  }
  if (value.IsTypedArray()) {  // Node Buffers are Uint8Arrays
    auto array = value.As<Napi::TypedArray>();
    auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data());
    return {base + array.ByteOffset(), array.ByteLength()};
  }
  if (value.IsDataView()) {
    auto view = value.As<Napi::DataView>();
    auto* base = static_cast<uint8_t*>(view.ArrayBuffer().Data());
    return {base + view.ByteOffset(), view.ByteLength()};
  }
  throw Napi::TypeError::New(value.Env(),
                             what + " must be an ArrayBuffer, TypedArray, DataView or Buffer");
}

uint64_t toU64(const Napi::Value& value, const std::string& what) {
  if (value.IsBigInt()) {
    bool lossless = false;
    uint64_t result = value.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) {
      throw Napi::RangeError::New(value.Env(), what + " must be a bigint in [0, 2^64)");
    }
    return result;
  }
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    // 2^53: beyond it a JS number no longer names every integer, so a size could silently shift.
    if (!(number >= 0) || number > 9007199254740992.0 || std::floor(number) != number) {
      throw Napi::RangeError::New(value.Env(),
                                  what + " must be a non-negative integer, got " +
                                      value.ToString().Utf8Value());
    }
    return static_cast<uint64_t>(number);
  }
  throw Napi::TypeError::New(value.Env(), what + " must be a number or bigint");
}

int64_t toI64(const Napi::Value& value, const std::string& what) {
  if (value.IsBigInt()) {
    bool lossless = false;
    int64_t result = value.As<Napi::BigInt>().Int64Value(&lossless);
    if (!lossless) {
      throw Napi::RangeError::New(value.Env(), what + " must be a bigint in [-2^63, 2^63)");
    }
    return result;
  }
  if (value.IsNumber()) {
    double number = value.As<Napi::Number>().DoubleValue();
    if (!(std::fabs(number) <= 9007199254740992.0) || std::floor(number) != number) {
      throw Napi::RangeError::New(value.Env(),
                                  what + " must be an integer, got " + value.ToString().Utf8Value());
    }
    return static_cast<int64_t>(number);
  }
  throw Napi::TypeError::New(value.Env(), what + " must be a number or bigint");
}

uint64_t toBounded(const Napi::Value& value, uint64_t max, const std::string& what) {
  uint64_t result = toU64(value, what);
  if (result > max) {
    throw Napi::RangeError::New(value.Env(),
                                what + " must be at most " + std::to_string(max) + ", got " +
                                    std::to_string(result));
  }
  return result;
}

uint64_t optionalBounded(const Napi::CallbackInfo& info, size_t index, uint64_t max,
                         uint64_t fallback, const std::string& what) {
  if (info.Length() <= index || info[index].IsUndefined()) return fallback;
  return toBounded(info[index], max, what);
}

std::string toString(const Napi::Value& value, const std::string& what) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), what + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

void throwDisposed(Napi::Env env, const std::string& className) {
  throw Napi::Error::New(env, className + " was disposed");
}

void checkRange(Napi::Env env, uint64_t offset, uint64_t bytes, uint64_t size, const std::string& what) {
  if (offset > size || bytes > size - offset) {
    throw Napi::RangeError::New(env, what + ": " + std::to_string(bytes) + " bytes at offset " +
                                         std::to_string(offset) + " do not fit in a buffer of " +
                                         std::to_string(size) + " bytes");
  }
}

void readDims(const Napi::Value& value, uint32_t out[3], const std::string& what) {
  out[0] = out[1] = out[2] = 1;
  if (value.IsArray()) {
    auto array = value.As<Napi::Array>();
    if (array.Length() < 1 || array.Length() > 3) {
      throw Napi::RangeError::New(value.Env(), what + " must have 1 to 3 entries");
    }
    for (uint32_t i = 0; i < array.Length(); ++i) {
      out[i] = static_cast<uint32_t>(toBounded(array.Get(i), std::numeric_limits<uint32_t>::max(),
                                               what + "[" + std::to_string(i) + "]"));
    }
  } else {
    out[0] = static_cast<uint32_t>(toBounded(value, std::numeric_limits<uint32_t>::max(), what));
  }
  for (int i = 0; i < 3; ++i) {
    if (out[i] == 0) throw Napi::RangeError::New(value.Env(), what + " entries must be at least 1");
  }
}

}  // namespace dsv3c
