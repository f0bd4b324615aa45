// cpu.Context: the cpu backend's stand-in for a device. It owns nothing (the thread pool is one per
// process); it exists so that code written for cuda/hip runs unchanged on the cpu target.
#include "cpu.h"
#include "cpu_pool.h"
#include "common.h"

namespace dsv3c {

Napi::Function CpuContext::define(Napi::Env env) {
  return DefineClass(env, "Context",
                     {InstanceAccessor<&CpuContext::threads>("threads"),
                      InstanceAccessor<&CpuContext::disposed>("disposed"),
                      InstanceMethod<&CpuContext::synchronize>("synchronize"),
                      InstanceMethod<&CpuContext::dispose>("dispose")});
}

CpuContext::CpuContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CpuContext>(info) {
  Value().TypeTag(&kTypeTag);
}

void CpuContext::checkLive(Napi::Env env) const {
  if (disposed_) throwDisposed(env, kClassName);
}

Napi::Value CpuContext::threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), ThreadPool::shared().threads());
}

Napi::Value CpuContext::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

Napi::Object defineCpuBackend(Napi::Env env) {
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("Context", CpuContext::define(env));
  cpu.Set("Module", CpuModule::define(env));
  cpu.Set("Kernel", CpuKernel::define(env));
  cpu.Set("Buffer", CpuBuffer::define(env));
  cpu.Set("Program", CpuProgram::define(env));
  return cpu;
}

}  // namespace dsv3c
