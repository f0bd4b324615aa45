// Context: one device's primary context (CUDA) or selected device (HIP). Creating one loads the
// backend's driver on first use, so `new cuda.Context(0)` on a machine without libcuda throws the
// load error rather than crashing.
#include <limits>

#include "common.h"
#include "gpu.h"

namespace dsv3c {

const GpuBackend kCudaBackend{"cuda", cudaApi};
const GpuBackend kHipBackend{"hip", hipApi};

Napi::Function GpuContext::define(Napi::Env env, const GpuBackend& backend) {
  return DefineClass(env, "Context",
                     {InstanceAccessor<&GpuContext::device>("device"),
                      InstanceAccessor<&GpuContext::backend>("backend"),
                      InstanceAccessor<&GpuContext::disposed>("disposed"),
                      InstanceMethod<&GpuContext::info>("info"),
                      InstanceMethod<&GpuContext::synchronize>("synchronize"),
                      InstanceMethod<&GpuContext::dispose>("dispose")},
                     const_cast<GpuBackend*>(&backend));
}

GpuContext::GpuContext(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<GpuContext>(info), backend_(static_cast<const GpuBackend*>(info.Data())) {
  Value().TypeTag(&kTypeTag);
  const std::string where = std::string(backend_->name) + ".Context";
  const GpuApi& api = backend_->api();  // throws the load error when the driver is unavailable
  auto ordinal = static_cast<int>(
      toBounded(info[0], std::numeric_limits<int>::max(), where + ": device"));
  int count = api.deviceCount();
  if (ordinal >= count) {
    throw Napi::RangeError::New(info.Env(), where + ": device " + std::to_string(ordinal) +
                                                " does not exist (" + std::to_string(count) +
                                                " device(s))");
  }
  void* handle = api.contextAcquire(ordinal);
  state_ = std::make_shared<ContextState>(&api, ordinal, handle);
}

std::shared_ptr<ContextState> GpuContext::live(Napi::Env env, const GpuBackend& backend) const {
  if (!state_) throwDisposed(env, std::string(backend_->name) + ".Context");
  if (&backend != backend_) {
    throw Napi::TypeError::New(env, std::string("a ") + backend_->name + " Context was given to a " +
                                        backend.name + " resource");
  }
  state_->makeCurrent();
  return state_;
}

Napi::Value GpuContext::device(const Napi::CallbackInfo& info) {
  if (!state_) throwDisposed(info.Env(), std::string(backend_->name) + ".Context");
  return Napi::Number::New(info.Env(), state_->ordinal);
}

Napi::Value GpuContext::backend(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), backend_->name);
}

Napi::Value GpuContext::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_);
}

Napi::Value GpuContext::info(const Napi::CallbackInfo& info) {
  auto state = live(info.Env(), *backend_);
  GpuDeviceInfo device = state->api->deviceInfo(state->ordinal);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("name", device.name);
  out.Set("computeCapability", std::to_string(device.ccMajor) + "." + std::to_string(device.ccMinor));
  out.Set("totalMemBytes", Napi::Number::New(info.Env(), static_cast<double>(device.totalMemBytes)));
  out.Set("smCount", device.smCount);
  return out;
}

void GpuContext::synchronize(const Napi::CallbackInfo& info) {
  live(info.Env(), *backend_)->api->contextSynchronize();
}

void GpuContext::dispose(const Napi::CallbackInfo& info) {
  if (!state_) return;  // disposing twice is harmless
  // Children hold the state too; only the last holder releases the driver context. When that is
  // us, release here with the status checked, so an error is thrown rather than swallowed.
  auto state = std::move(state_);
  if (state.use_count() == 1) state->release(true);
}

}  // namespace dsv3c
