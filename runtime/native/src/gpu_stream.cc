// Stream: an ordered queue of GPU work in one context. Created non-blocking, so it never waits on
// (or is waited on by) the legacy null stream; order across streams is the caller's, with Events.
#include "common.h"
#include "gpu.h"

namespace dsv3c {

Napi::Function GpuStream::define(Napi::Env env, const GpuBackend& backend) {
  return DefineClass(env, "Stream",
                     {InstanceAccessor<&GpuStream::disposed>("disposed"),
                      InstanceMethod<&GpuStream::synchronize>("synchronize"),
                      InstanceMethod<&GpuStream::dispose>("dispose")},
                     const_cast<GpuBackend*>(&backend));
}

GpuStream::GpuStream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GpuStream>(info) {
  Value().TypeTag(&kTypeTag);
  const auto& backend = *static_cast<const GpuBackend*>(info.Data());
  auto context = unwrapAs<GpuContext>(info[0], std::string(backend.name) + ".Stream: context")
                     ->live(info.Env(), backend);
  void* handle = context->api->streamCreate();
  state_ = std::make_shared<StreamState>(context, handle);
}

std::shared_ptr<StreamState> GpuStream::live(Napi::Env env) const {
  if (!state_) throwDisposed(env, "Stream");
  state_->context->makeCurrent();
  return state_;
}

Napi::Value GpuStream::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_);
}

void GpuStream::synchronize(const Napi::CallbackInfo& info) {
  auto state = live(info.Env());
  state->context->api->streamSynchronize(state->handle);
}

void GpuStream::dispose(const Napi::CallbackInfo& info) {
  if (!state_) return;
  auto state = std::move(state_);
  if (state.use_count() == 1) state->release(true);
}

void* streamArgument(const Napi::Value& value, const ContextState& context, const std::string& what) {
  if (value.IsUndefined() || value.IsNull()) return nullptr;
  auto state = unwrapAs<GpuStream>(value, what)->live(value.Env());
  // A stream handle of another context would be an invalid handle to the driver at best.
  if (state->context.get() != &context) {
    throw Napi::Error::New(value.Env(), what + ": the stream belongs to another context");
  }
  return state->handle;
}

}  // namespace dsv3c
