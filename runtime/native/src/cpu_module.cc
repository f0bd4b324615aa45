// cpu.Module: a shared library of cpu kernels (dsv3c_cpu_kernel.h), dlopen'ed synchronously.
// dlopen hands back the already-loaded copy for a path that is still loaded, so a rebuilt library
// must be written to a new path (the compiler names binaries by a hash of source and flags).
#include "common.h"
#include "cpu.h"

namespace dsv3c {

Napi::Function CpuModule::define(Napi::Env env) {
  return DefineClass(env, "Module",
                     {InstanceAccessor<&CpuModule::path>("path"),
                      InstanceAccessor<&CpuModule::disposed>("disposed"),
                      InstanceMethod<&CpuModule::dispose>("dispose")});
}

CpuModule::CpuModule(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CpuModule>(info) {
  Value().TypeTag(&kTypeTag);
  unwrapAs<CpuContext>(info[0], "cpu.Module: context")->checkLive(info.Env());
  std::string path = toString(info[1], "cpu.Module: path");
  try {
    library_ = std::make_shared<CpuLibrary>(CpuLibrary{std::make_unique<DynLib>(path, true)});
  } catch (const std::exception& error) {
    throw Napi::Error::New(info.Env(), std::string("cpu.Module: ") + error.what());
  }
}

std::shared_ptr<CpuLibrary> CpuModule::live(Napi::Env env) const {
  if (!library_) throwDisposed(env, kClassName);
  return library_;
}

Napi::Value CpuModule::path(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), live(info.Env())->library->path());
}

Napi::Value CpuModule::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !library_);
}

}  // namespace dsv3c
