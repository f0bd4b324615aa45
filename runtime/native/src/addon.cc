// The addon's entry point: the exports object whose TypeScript type is NativeAddon in
// runtime/src/native/addon-types.ts. Nothing here touches a driver; drivers load on first use.
#include <napi.h>

#include "cpu.h"
#include "dsv3c_cpu_kernel.h"
#include "gpu.h"
#include "probe.h"

namespace dsv3c {

// Bumped whenever the JS-visible surface changes, so load-addon.ts can tell a stale build from
// the one addon-types.ts describes.
constexpr int kAddonAbiVersion = 2;  // 2: Program (cpu, cuda, hip)

Napi::Object defineGpuBackend(Napi::Env env, const GpuBackend& backend) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("Context", GpuContext::define(env, backend));
  out.Set("Module", GpuModule::define(env, backend));
  out.Set("Kernel", GpuKernel::define(env, backend));
  out.Set("Buffer", GpuBuffer::define(env, backend));
  out.Set("Stream", GpuStream::define(env, backend));
  out.Set("Event", GpuEvent::define(env, backend));
  out.Set("Program", GpuProgram::define(env, backend));
  return out;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", kAddonAbiVersion);
  exports.Set("cpuKernelAbiVersion", DSV3C_CPU_ABI_VERSION);
  exports.Set("probe", Napi::Function::New(env, probe, "probe"));
  exports.Set("cuda", defineGpuBackend(env, kCudaBackend));
  exports.Set("hip", defineGpuBackend(env, kHipBackend));
  exports.Set("cpu", defineCpuBackend(env));
  return exports;
}

}  // namespace dsv3c

// NODE_API_MODULE pastes the name into an identifier, so it must be unqualified.
static Napi::Object initAddon(Napi::Env env, Napi::Object exports) { return dsv3c::init(env, exports); }
NODE_API_MODULE(dsv3c_native, initAddon)
