// Buffer: device memory of one context. write/read/fill are synchronous for now: each queues its
// copy on the given stream (the null stream by default) and waits for that stream, because the JS
// memory they copy from or into may move or be collected once the call returns. Pinned staging
// buffers and async copies come with the native executor.
#include <limits>

#include "common.h"
#include "gpu.h"

namespace dsv3c {

Napi::Function GpuBuffer::define(Napi::Env env, const GpuBackend& backend) {
  return DefineClass(env, "Buffer",
                     {InstanceAccessor<&GpuBuffer::size>("size"),
                      InstanceAccessor<&GpuBuffer::address>("address"),
                      InstanceAccessor<&GpuBuffer::disposed>("disposed"),
                      InstanceMethod<&GpuBuffer::write>("write"),
                      InstanceMethod<&GpuBuffer::read>("read"),
                      InstanceMethod<&GpuBuffer::fill>("fill"),
                      InstanceMethod<&GpuBuffer::dispose>("dispose")},
                     const_cast<GpuBackend*>(&backend));
}

GpuBuffer::GpuBuffer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GpuBuffer>(info) {
  Value().TypeTag(&kTypeTag);
  const auto& backend = *static_cast<const GpuBackend*>(info.Data());
  const std::string where = std::string(backend.name) + ".Buffer";
  auto context = unwrapAs<GpuContext>(info[0], where + ": context")->live(info.Env(), backend);
  auto bytes = toBounded(info[1], std::numeric_limits<size_t>::max(), where + ": bytes");
  if (bytes == 0) throw Napi::RangeError::New(info.Env(), where + ": bytes must be at least 1");
  uint64_t pointer = context->api->memAlloc(bytes);
  state_ = std::make_unique<BufferState>(context, pointer, bytes);
}

BufferState& GpuBuffer::live(Napi::Env env) const {
  if (!state_) throwDisposed(env, "Buffer");
  state_->context->makeCurrent();
  return *state_;
}

Napi::Value GpuBuffer::size(const Napi::CallbackInfo& info) {
  if (!state_) throwDisposed(info.Env(), "Buffer");
  return Napi::Number::New(info.Env(), static_cast<double>(state_->bytes));
}

// A bigint so that kernel arguments can carry it, plus offsets, without losing bits.
Napi::Value GpuBuffer::address(const Napi::CallbackInfo& info) {
  if (!state_) throwDisposed(info.Env(), "Buffer");
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(state_->pointer));
}

Napi::Value GpuBuffer::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_);
}

// write(data, offset = 0, stream?)
void GpuBuffer::write(const Napi::CallbackInfo& info) {
  BufferState& state = live(info.Env());
  Bytes data = bytesOf(info[0], "Buffer.write: data");
  uint64_t offset = optionalBounded(info, 1, std::numeric_limits<uint64_t>::max(), 0, "Buffer.write: offset");
  checkRange(info.Env(), offset, data.size, state.bytes, "Buffer.write");
  void* stream = streamArgument(info[2], *state.context, "Buffer.write: stream");
  if (data.size == 0) return;
  state.context->api->memcpyHtoD(state.pointer + offset, data.data, data.size, stream);
  state.context->api->streamSynchronize(stream);
}

// read(into, offset = 0, stream?): fills all of `into` from the buffer at `offset`.
void GpuBuffer::read(const Napi::CallbackInfo& info) {
  BufferState& state = live(info.Env());
  Bytes into = bytesOf(info[0], "Buffer.read: into");
  uint64_t offset = optionalBounded(info, 1, std::numeric_limits<uint64_t>::max(), 0, "Buffer.read: offset");
  checkRange(info.Env(), offset, into.size, state.bytes, "Buffer.read");
  void* stream = streamArgument(info[2], *state.context, "Buffer.read: stream");
  if (into.size == 0) return;
  state.context->api->memcpyDtoH(into.data, state.pointer + offset, into.size, stream);
  state.context->api->streamSynchronize(stream);
}

// fill(byte, stream?): every byte of the buffer, e.g. to poison outputs before a kernel runs.
void GpuBuffer::fill(const Napi::CallbackInfo& info) {
  BufferState& state = live(info.Env());
  auto value = static_cast<unsigned char>(toBounded(info[0], 255, "Buffer.fill: byte"));
  void* stream = streamArgument(info[1], *state.context, "Buffer.fill: stream");
  state.context->api->memsetD8(state.pointer, value, state.bytes, stream);
  state.context->api->streamSynchronize(stream);
}

void GpuBuffer::dispose(const Napi::CallbackInfo& info) {
  if (!state_) return;
  auto state = std::move(state_);
  state->release(true);
}

}  // namespace dsv3c
