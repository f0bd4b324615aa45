// Kernel: one __global__ function of a Module, and its launch. A launch is asynchronous on the GPU
// (it returns once queued on the stream) and its arguments are one packed byte buffer, laid out as
// the kernel's parameter list (runtime/src/native/pack-args.ts packs it).
#include <cstring>
#include <limits>
#include <vector>

#include "common.h"
#include "gpu.h"

namespace dsv3c {

Napi::Function GpuKernel::define(Napi::Env env, const GpuBackend& backend) {
  return DefineClass(env, "Kernel",
                     {InstanceAccessor<&GpuKernel::name>("name"),
                      InstanceAccessor<&GpuKernel::disposed>("disposed"),
                      InstanceMethod<&GpuKernel::setMaxDynamicSharedMemory>("setMaxDynamicSharedMemory"),
                      InstanceMethod<&GpuKernel::launch>("launch"),
                      InstanceMethod<&GpuKernel::dispose>("dispose")},
                     const_cast<GpuBackend*>(&backend));
}

GpuKernel::GpuKernel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GpuKernel>(info) {
  Value().TypeTag(&kTypeTag);
  const auto& backend = *static_cast<const GpuBackend*>(info.Data());
  const std::string where = std::string(backend.name) + ".Kernel";
  module_ = unwrapAs<GpuModule>(info[0], where + ": module")->live(info.Env());
  if (std::strcmp(module_->context->api->backend, backend.name) != 0) {
    throw Napi::TypeError::New(info.Env(), where + ": the module belongs to " + module_->context->api->backend);
  }
  name_ = toString(info[1], where + ": name");
  function_ = module_->context->api->moduleGetFunction(module_->handle, name_.c_str());
}

Napi::Value GpuKernel::name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

std::shared_ptr<ModuleState> GpuKernel::liveModule(Napi::Env env) const {
  if (!module_) throwDisposed(env, "Kernel " + name_);
  return module_;
}

Napi::Value GpuKernel::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !module_);
}

void GpuKernel::setMaxDynamicSharedMemory(const Napi::CallbackInfo& info) {
  if (!module_) throwDisposed(info.Env(), "Kernel " + name_);
  // Above 48 KiB, CUDA needs this opt-in per function before a launch may ask for that much.
  auto bytes = static_cast<int>(toBounded(info[0], std::numeric_limits<int>::max(), "setMaxDynamicSharedMemory: bytes"));
  module_->context->makeCurrent();
  module_->context->api->functionSetMaxDynamicShared(function_, bytes);
}

// launch({ grid, block, sharedMemBytes?, stream?, args? })
void GpuKernel::launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!module_) throwDisposed(env, "Kernel " + name_);
  const std::string where = "Kernel " + name_ + ".launch";
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, where + ": options must be an object");
  Napi::Object options = info[0].As<Napi::Object>();
  uint32_t grid[3];
  uint32_t block[3];
  readDims(options.Get("grid"), grid, where + ": grid");
  readDims(options.Get("block"), block, where + ": block");
  Napi::Value shared = options.Get("sharedMemBytes");
  auto sharedMemBytes = shared.IsUndefined()
                            ? 0u
                            : static_cast<uint32_t>(toBounded(shared, std::numeric_limits<uint32_t>::max(),
                                                              where + ": sharedMemBytes"));
  const ContextState& context = *module_->context;
  context.makeCurrent();
  void* stream = streamArgument(options.Get("stream"), context, where + ": stream");
  // Copied into 8-byte-aligned storage: a JS view may start at any byte, and the driver reads the
  // blob as the kernel's parameter struct.
  std::vector<uint64_t> packed;
  size_t argBytes = 0;
  Napi::Value args = options.Get("args");
  if (!args.IsUndefined()) {
    Bytes bytes = bytesOf(args, where + ": args");
    argBytes = bytes.size;
    packed.resize((argBytes + 7) / 8);
    if (argBytes > 0) std::memcpy(packed.data(), bytes.data, argBytes);
  }
  context.api->launch(function_, grid, block, sharedMemBytes, stream, packed.data(), argBytes);
}

void GpuKernel::dispose(const Napi::CallbackInfo& info) {
  if (!module_) return;
  // The function handle belongs to the module; if this kernel was the module's last holder, the
  // module is unloaded now, checked.
  auto module = std::move(module_);
  function_ = nullptr;
  if (module.use_count() == 1) module->release(true);
}

}  // namespace dsv3c
