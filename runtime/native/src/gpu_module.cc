// Module: a cubin (CUDA) or code object (HIP) file loaded into a context. Loading is synchronous
// (the driver reads and relocates the file on the calling thread); it happens once per kernel
// binary at startup, not in the decode loop.
#include "common.h"
#include "gpu.h"

namespace dsv3c {

Napi::Function GpuModule::define(Napi::Env env, const GpuBackend& backend) {
  return DefineClass(env, "Module",
                     {InstanceAccessor<&GpuModule::path>("path"),
                      InstanceAccessor<&GpuModule::disposed>("disposed"),
                      InstanceMethod<&GpuModule::dispose>("dispose")},
                     const_cast<GpuBackend*>(&backend));
}

GpuModule::GpuModule(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GpuModule>(info) {
  Value().TypeTag(&kTypeTag);
  const auto& backend = *static_cast<const GpuBackend*>(info.Data());
  const std::string where = std::string(backend.name) + ".Module";
  auto context = unwrapAs<GpuContext>(info[0], where + ": context")->live(info.Env(), backend);
  std::string path = toString(info[1], where + ": path");
  void* handle = context->api->moduleLoad(path.c_str());
  state_ = std::make_shared<ModuleState>(context, handle, path);
}

std::shared_ptr<ModuleState> GpuModule::live(Napi::Env env) const {
  if (!state_) throwDisposed(env, "Module");
  state_->context->makeCurrent();
  return state_;
}

Napi::Value GpuModule::path(const Napi::CallbackInfo& info) {
  if (!state_) throwDisposed(info.Env(), "Module");
  return Napi::String::New(info.Env(), state_->path);
}

Napi::Value GpuModule::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_);
}

void GpuModule::dispose(const Napi::CallbackInfo& info) {
  if (!state_) return;
  // Kernels keep the module loaded; it is unloaded when the last of them is gone too.
  auto state = std::move(state_);
  if (state.use_count() == 1) state->release(true);
}

}  // namespace dsv3c
