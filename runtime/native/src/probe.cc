// probe(): what this machine offers, as a plain object. It never throws: every failure (no driver,
// no device, a driver call that fails) is an error string in the result. A driver that crashes
// the process instead is what probeInChildProcess() (load-addon.ts) guards against.
#include "probe.h"

#include <vector>

#include "cpu_pool.h"
#include "gpu_api.h"
#include "nccl_api.h"

namespace dsv3c {
namespace {

Napi::Object probeGpu(Napi::Env env, GpuLoadReport (*report)(), const GpuApi& (*api)()) {
  Napi::Object out = Napi::Object::New(env);
  GpuLoadReport loaded = report();
  if (loaded.driverVersion > 0) out.Set("driverVersion", loaded.driverVersion);
  if (!loaded.available) {
    out.Set("available", false);
    out.Set("error", loaded.error);
    return out;
  }
  try {
    const GpuApi& gpu = api();
    int count = gpu.deviceCount();
    std::vector<GpuDeviceInfo> infos;
    for (int i = 0; i < count; ++i) infos.push_back(gpu.deviceInfo(i));
    Napi::Array devices = Napi::Array::New(env, infos.size());
    for (size_t i = 0; i < infos.size(); ++i) {
      Napi::Object device = Napi::Object::New(env);
      device.Set("name", infos[i].name);
      device.Set("computeCapability", std::to_string(infos[i].ccMajor) + "." + std::to_string(infos[i].ccMinor));
      device.Set("totalMemBytes", Napi::Number::New(env, static_cast<double>(infos[i].totalMemBytes)));
      device.Set("smCount", infos[i].smCount);
      devices.Set(static_cast<uint32_t>(i), device);
    }
    out.Set("available", count > 0);
    out.Set("devices", devices);
    if (count == 0) out.Set("error", std::string(gpu.backend) + ": the driver reports no devices");
  } catch (const std::exception& error) {
    out.Set("available", false);
    out.Set("error", error.what());
  }
  return out;
}

}  // namespace

Napi::Value probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("cuda", probeGpu(env, cudaLoadReport, cudaApi));
  out.Set("hip", probeGpu(env, hipLoadReport, hipApi));
  NcclReport nccl = ncclReport();
  Napi::Object ncclOut = Napi::Object::New(env);
  ncclOut.Set("available", nccl.available);
  if (nccl.available) ncclOut.Set("version", nccl.version);
  if (!nccl.available) ncclOut.Set("error", nccl.error);
  out.Set("nccl", ncclOut);
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("threads", ThreadPool::shared().threads());
  out.Set("cpu", cpu);
  return out;
}

}  // namespace dsv3c
