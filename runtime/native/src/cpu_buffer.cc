// cpu.Buffer: the cpu backend's "device memory": host memory allocated by the addon, 64-byte
// aligned (a cache line, and enough for any vector load a generated kernel may use), freed by
// dispose() or the finalizer. Like device memory, its contents are undefined until written.
// write/read/fill mirror the GPU Buffer so executor code is the same on every backend.
#include <cstdlib>
#include <cstring>
#include <limits>

#include "common.h"
#include "cpu.h"

namespace dsv3c {
namespace {

constexpr size_t kAlignment = 64;

}  // namespace

Napi::Function CpuBuffer::define(Napi::Env env) {
  return DefineClass(env, "Buffer",
                     {InstanceAccessor<&CpuBuffer::size>("size"),
                      InstanceAccessor<&CpuBuffer::address>("address"),
                      InstanceAccessor<&CpuBuffer::disposed>("disposed"),
                      InstanceMethod<&CpuBuffer::write>("write"),
                      InstanceMethod<&CpuBuffer::read>("read"),
                      InstanceMethod<&CpuBuffer::fill>("fill"),
                      InstanceMethod<&CpuBuffer::dispose>("dispose")});
}

CpuBuffer::CpuBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CpuBuffer>(info) {
  Value().TypeTag(&kTypeTag);
  unwrapAs<CpuContext>(info[0], "cpu.Buffer: context")->checkLive(info.Env());
  bytes_ = toBounded(info[1], std::numeric_limits<size_t>::max() - kAlignment, "cpu.Buffer: bytes");
  if (bytes_ == 0) throw Napi::RangeError::New(info.Env(), "cpu.Buffer: bytes must be at least 1");
  // aligned_alloc needs a size that is a multiple of the alignment.
  size_t rounded = (bytes_ + kAlignment - 1) / kAlignment * kAlignment;
  data_ = std::aligned_alloc(kAlignment, rounded);
  if (data_ == nullptr) {
    throw Napi::Error::New(info.Env(), "cpu.Buffer: out of host memory allocating " + std::to_string(bytes_) + " bytes");
  }
}

// The GC does not know the size of this memory and may collect a dropped Buffer late; dispose()
// frees at once.
CpuBuffer::~CpuBuffer() { std::free(data_); }

void* CpuBuffer::data(Napi::Env env) const {
  if (data_ == nullptr) throwDisposed(env, kClassName);
  return data_;
}

Napi::Value CpuBuffer::size(const Napi::CallbackInfo& info) {
  data(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(bytes_));
}

Napi::Value CpuBuffer::address(const Napi::CallbackInfo& info) {
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(data(info.Env()))));
}

Napi::Value CpuBuffer::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), data_ == nullptr);
}

// write(data, offset = 0)
void CpuBuffer::write(const Napi::CallbackInfo& info) {
  auto* base = static_cast<uint8_t*>(data(info.Env()));
  Bytes source = bytesOf(info[0], "cpu.Buffer.write: data");
  uint64_t offset = optionalBounded(info, 1, std::numeric_limits<uint64_t>::max(), 0, "cpu.Buffer.write: offset");
  checkRange(info.Env(), offset, source.size, bytes_, "cpu.Buffer.write");
  if (source.size > 0) std::memcpy(base + offset, source.data, source.size);
}

// read(into, offset = 0): fills all of `into`.
void CpuBuffer::read(const Napi::CallbackInfo& info) {
  auto* base = static_cast<uint8_t*>(data(info.Env()));
  Bytes into = bytesOf(info[0], "cpu.Buffer.read: into");
  uint64_t offset = optionalBounded(info, 1, std::numeric_limits<uint64_t>::max(), 0, "cpu.Buffer.read: offset");
  checkRange(info.Env(), offset, into.size, bytes_, "cpu.Buffer.read");
  if (into.size > 0) std::memcpy(into.data, base + offset, into.size);
}

void CpuBuffer::fill(const Napi::CallbackInfo& info) {
  void* base = data(info.Env());
  auto value = static_cast<int>(toBounded(info[0], 255, "cpu.Buffer.fill: byte"));
  std::memset(base, value, bytes_);
}

void CpuBuffer::dispose(const Napi::CallbackInfo& info) {
  if (data_ == nullptr) return;
  std::free(data_);
  data_ = nullptr;
}

}  // namespace dsv3c
