// The HIP row of the dialect record (gpu_api.h). libamdhip64.so is dlopen'ed on first use and each
// entry point taken with dlsym (HIP exports them directly, with one ABI each). The few HIP types
// are declared here so the build needs no ROCm headers. Thinner than CUDA: the context is the
// device selected with hipSetDevice (HIP's hipCtx* calls are deprecated), and the dynamic shared
// memory opt-in is a no-op because AMD's LDS needs none.
#include <stdexcept>
#include <string>

#include "dynlib.h"
#include "gpu_api.h"

namespace dsv3c {
namespace {

using hipError_t = int;  // an enum in hip_runtime_api.h; 0 is hipSuccess
using hipDevice_t = int;
using hipStream_t = void*;
using hipEvent_t = void*;
using hipModule_t = void*;
using hipFunction_t = void*;
using hipDeviceptr_t = void*;

constexpr hipError_t hipSuccess = 0;
constexpr int hipDeviceAttributeMultiprocessorCount = 63;  // stable since ROCm 5's renumbering
constexpr unsigned hipStreamNonBlocking = 1;
constexpr unsigned hipEventDefault = 0;
// HIP ends the launch-parameter list with 0x03, where CUDA uses 0x00.
constexpr uintptr_t HIP_LAUNCH_PARAM_BUFFER_POINTER = 0x01;
constexpr uintptr_t HIP_LAUNCH_PARAM_BUFFER_SIZE = 0x02;
constexpr uintptr_t HIP_LAUNCH_PARAM_END = 0x03;

struct HipFunctions {
  hipError_t (*hipInit)(unsigned);
  hipError_t (*hipDriverGetVersion)(int*);
  const char* (*hipGetErrorName)(hipError_t);
  const char* (*hipGetErrorString)(hipError_t);
  hipError_t (*hipGetDeviceCount)(int*);
  hipError_t (*hipDeviceGetName)(char*, int, hipDevice_t);
  hipError_t (*hipDeviceTotalMem)(size_t*, hipDevice_t);
  hipError_t (*hipDeviceComputeCapability)(int*, int*, hipDevice_t);
  hipError_t (*hipDeviceGetAttribute)(int*, int, int);
  hipError_t (*hipSetDevice)(int);
  hipError_t (*hipDeviceSynchronize)();
  hipError_t (*hipModuleLoad)(hipModule_t*, const char*);
  hipError_t (*hipModuleUnload)(hipModule_t);
  hipError_t (*hipModuleGetFunction)(hipFunction_t*, hipModule_t, const char*);
  hipError_t (*hipMalloc)(void**, size_t);
  hipError_t (*hipFree)(void*);
  hipError_t (*hipMemcpyHtoDAsync)(hipDeviceptr_t, void*, size_t, hipStream_t);
  hipError_t (*hipMemcpyDtoHAsync)(void*, hipDeviceptr_t, size_t, hipStream_t);
  hipError_t (*hipMemsetD8Async)(hipDeviceptr_t, unsigned char, size_t, hipStream_t);
  hipError_t (*hipStreamCreateWithFlags)(hipStream_t*, unsigned);
  hipError_t (*hipStreamDestroy)(hipStream_t);
  hipError_t (*hipStreamSynchronize)(hipStream_t);
  hipError_t (*hipEventCreateWithFlags)(hipEvent_t*, unsigned);
  hipError_t (*hipEventDestroy)(hipEvent_t);
  hipError_t (*hipEventRecord)(hipEvent_t, hipStream_t);
  hipError_t (*hipEventSynchronize)(hipEvent_t);
  hipError_t (*hipEventElapsedTime)(float*, hipEvent_t, hipEvent_t);
  hipError_t (*hipModuleLaunchKernel)(hipFunction_t, unsigned, unsigned, unsigned, unsigned, unsigned,
                                      unsigned, unsigned, hipStream_t, void**, void**);
};

HipFunctions fn{};  // filled once by load(), read-only afterwards

void check(hipError_t status, const std::string& call) {
  if (status == hipSuccess) return;
  const char* name = fn.hipGetErrorName ? fn.hipGetErrorName(status) : nullptr;
  const char* text = fn.hipGetErrorString ? fn.hipGetErrorString(status) : nullptr;
  std::string described = name ? name : "hipError_t " + std::to_string(status);
  if (text) described += std::string(" (") + text + ")";
  throw std::runtime_error("hip: " + call + " failed: " + described);
}

template <class Pfn>
void resolve(const DynLib& library, const char* name, Pfn& slot) {
  slot = reinterpret_cast<Pfn>(library.symbol(name));
  if (slot == nullptr) throw std::runtime_error(library.path() + " has no " + name);
}

void* asPointer(uint64_t address) { return reinterpret_cast<void*>(static_cast<uintptr_t>(address)); }

int deviceCount() {
  int count = 0;
  check(fn.hipGetDeviceCount(&count), "hipGetDeviceCount");
  return count;
}

GpuDeviceInfo deviceInfo(int ordinal) {
  GpuDeviceInfo info;
  char name[256] = {0};
  check(fn.hipDeviceGetName(name, sizeof(name) - 1, ordinal), "hipDeviceGetName");
  info.name = name;
  size_t bytes = 0;
  check(fn.hipDeviceTotalMem(&bytes, ordinal), "hipDeviceTotalMem");
  info.totalMemBytes = bytes;
  check(fn.hipDeviceComputeCapability(&info.ccMajor, &info.ccMinor, ordinal), "hipDeviceComputeCapability");
  check(fn.hipDeviceGetAttribute(&info.smCount, hipDeviceAttributeMultiprocessorCount, ordinal),
        "hipDeviceGetAttribute(MultiprocessorCount)");
  return info;
}

void* contextAcquire(int ordinal) {
  check(fn.hipSetDevice(ordinal), "hipSetDevice(" + std::to_string(ordinal) + ")");
  return nullptr;
}

void contextRelease(int, void*) {}  // the runtime owns the device's context

void contextMakeCurrent(int ordinal, void*) { check(fn.hipSetDevice(ordinal), "hipSetDevice"); }

void contextSynchronize() { check(fn.hipDeviceSynchronize(), "hipDeviceSynchronize"); }

void* moduleLoad(const char* path) {
  hipModule_t module = nullptr;
  check(fn.hipModuleLoad(&module, path), std::string("hipModuleLoad(") + path + ")");
  return module;
}

void moduleUnload(void* module) { check(fn.hipModuleUnload(module), "hipModuleUnload"); }

void* moduleGetFunction(void* module, const char* name) {
  hipFunction_t function = nullptr;
  check(fn.hipModuleGetFunction(&function, module, name), std::string("hipModuleGetFunction(") + name + ")");
  return function;
}

void functionSetMaxDynamicShared(void*, int) {}

uint64_t memAlloc(size_t bytes) {
  void* pointer = nullptr;
  check(fn.hipMalloc(&pointer, bytes), "hipMalloc(" + std::to_string(bytes) + " bytes)");
  return reinterpret_cast<uintptr_t>(pointer);
}

void memFree(uint64_t pointer) { check(fn.hipFree(asPointer(pointer)), "hipFree"); }

void memcpyHtoD(uint64_t dst, const void* src, size_t bytes, void* stream) {
  check(fn.hipMemcpyHtoDAsync(asPointer(dst), const_cast<void*>(src), bytes, stream), "hipMemcpyHtoDAsync");
}

void memcpyDtoH(void* dst, uint64_t src, size_t bytes, void* stream) {
  check(fn.hipMemcpyDtoHAsync(dst, asPointer(src), bytes, stream), "hipMemcpyDtoHAsync");
}

void memsetD8(uint64_t dst, unsigned char value, size_t bytes, void* stream) {
  check(fn.hipMemsetD8Async(asPointer(dst), value, bytes, stream), "hipMemsetD8Async");
}

void* streamCreate() {
  hipStream_t stream = nullptr;
  check(fn.hipStreamCreateWithFlags(&stream, hipStreamNonBlocking), "hipStreamCreateWithFlags");
  return stream;
}

void streamDestroy(void* stream) { check(fn.hipStreamDestroy(stream), "hipStreamDestroy"); }
void streamSynchronize(void* stream) { check(fn.hipStreamSynchronize(stream), "hipStreamSynchronize"); }

void* eventCreate() {
  hipEvent_t event = nullptr;
  check(fn.hipEventCreateWithFlags(&event, hipEventDefault), "hipEventCreateWithFlags");
  return event;
}

void eventDestroy(void* event) { check(fn.hipEventDestroy(event), "hipEventDestroy"); }
void eventRecord(void* event, void* stream) { check(fn.hipEventRecord(event, stream), "hipEventRecord"); }
void eventSynchronize(void* event) { check(fn.hipEventSynchronize(event), "hipEventSynchronize"); }

float eventElapsedMs(void* start, void* end) {
  float ms = 0;
  check(fn.hipEventElapsedTime(&ms, start, end), "hipEventElapsedTime");
  return ms;
}

void launch(void* function, const uint32_t grid[3], const uint32_t block[3], uint32_t sharedMemBytes,
            void* stream, void* args, size_t argBytes) {
  void* extra[] = {reinterpret_cast<void*>(HIP_LAUNCH_PARAM_BUFFER_POINTER), args,
                   reinterpret_cast<void*>(HIP_LAUNCH_PARAM_BUFFER_SIZE), &argBytes,
                   reinterpret_cast<void*>(HIP_LAUNCH_PARAM_END)};
  check(fn.hipModuleLaunchKernel(function, grid[0], grid[1], grid[2], block[0], block[1], block[2],
                                 sharedMemBytes, stream, nullptr, argBytes > 0 ? extra : nullptr),
        "hipModuleLaunchKernel");
}

struct Loaded {
  GpuApi api{};
  GpuLoadReport report{false, 0, ""};
};

Loaded load() {
  Loaded out;
  try {
    // Never unloaded, for the same reason as libcuda (cuda_api.cc).
    static DynLib* library = new DynLib(libraryPath("DSV3C_LIBHIP", "libamdhip64.so"), false);
    resolve(*library, "hipGetErrorName", fn.hipGetErrorName);
    resolve(*library, "hipGetErrorString", fn.hipGetErrorString);
    resolve(*library, "hipDriverGetVersion", fn.hipDriverGetVersion);
    resolve(*library, "hipInit", fn.hipInit);
    check(fn.hipDriverGetVersion(&out.report.driverVersion), "hipDriverGetVersion");
    check(fn.hipInit(0), "hipInit");
    resolve(*library, "hipGetDeviceCount", fn.hipGetDeviceCount);
    resolve(*library, "hipDeviceGetName", fn.hipDeviceGetName);
    resolve(*library, "hipDeviceTotalMem", fn.hipDeviceTotalMem);
    resolve(*library, "hipDeviceComputeCapability", fn.hipDeviceComputeCapability);
    resolve(*library, "hipDeviceGetAttribute", fn.hipDeviceGetAttribute);
    resolve(*library, "hipSetDevice", fn.hipSetDevice);
    resolve(*library, "hipDeviceSynchronize", fn.hipDeviceSynchronize);
    resolve(*library, "hipModuleLoad", fn.hipModuleLoad);
    resolve(*library, "hipModuleUnload", fn.hipModuleUnload);
    resolve(*library, "hipModuleGetFunction", fn.hipModuleGetFunction);
    resolve(*library, "hipMalloc", fn.hipMalloc);
    resolve(*library, "hipFree", fn.hipFree);
    resolve(*library, "hipMemcpyHtoDAsync", fn.hipMemcpyHtoDAsync);
    resolve(*library, "hipMemcpyDtoHAsync", fn.hipMemcpyDtoHAsync);
    resolve(*library, "hipMemsetD8Async", fn.hipMemsetD8Async);
    resolve(*library, "hipStreamCreateWithFlags", fn.hipStreamCreateWithFlags);
    resolve(*library, "hipStreamDestroy", fn.hipStreamDestroy);
    resolve(*library, "hipStreamSynchronize", fn.hipStreamSynchronize);
    resolve(*library, "hipEventCreateWithFlags", fn.hipEventCreateWithFlags);
    resolve(*library, "hipEventDestroy", fn.hipEventDestroy);
    resolve(*library, "hipEventRecord", fn.hipEventRecord);
    resolve(*library, "hipEventSynchronize", fn.hipEventSynchronize);
    resolve(*library, "hipEventElapsedTime", fn.hipEventElapsedTime);
    resolve(*library, "hipModuleLaunchKernel", fn.hipModuleLaunchKernel);
  } catch (const std::exception& error) {
    std::string message = error.what();
    if (message.rfind("hip: ", 0) != 0) message = "hip: " + message;
    out.report.error = message;
    return out;
  }
  out.report.available = true;
  out.api = GpuApi{"hip", out.report.driverVersion, deviceCount, deviceInfo, contextAcquire, contextRelease,
                   contextMakeCurrent, contextSynchronize, moduleLoad, moduleUnload, moduleGetFunction,
                   functionSetMaxDynamicShared, memAlloc, memFree, memcpyHtoD, memcpyDtoH, memsetD8,
                   streamCreate, streamDestroy, streamSynchronize, eventCreate, eventDestroy, eventRecord,
                   eventSynchronize, eventElapsedMs, launch,
                   // No graphs yet: a hip Program launches plainly (hipGraph* would mirror CUDA's).
                   nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  return out;
}

const Loaded& loaded() {
  static const Loaded value = load();
  return value;
}

}  // namespace

const GpuApi& hipApi() {
  if (!loaded().report.available) throw std::runtime_error(loaded().report.error);
  return loaded().api;
}

GpuLoadReport hipLoadReport() { return loaded().report; }

}  // namespace dsv3c
