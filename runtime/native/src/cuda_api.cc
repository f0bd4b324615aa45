// The CUDA row of the dialect record (gpu_api.h). libcuda.so.1 is dlopen'ed on first use; the only
// symbol taken with dlsym is cuGetProcAddress_v2, and every other entry point is asked of it at the
// CUDA 12.0 ABI (cuda_decls.h), so the prototypes we declare are the ones the driver hands back
// whatever its own version.
#include <stdexcept>
#include <string>

#include "cuda_decls.h"
#include "dynlib.h"
#include "gpu_api.h"

namespace dsv3c {
namespace {

using namespace cu;

struct CudaFunctions {
  PFN_cuInit cuInit;
  PFN_cuDriverGetVersion cuDriverGetVersion;
  PFN_cuGetErrorName cuGetErrorName;
  PFN_cuGetErrorString cuGetErrorString;
  PFN_cuDeviceGetCount cuDeviceGetCount;
  PFN_cuDeviceGet cuDeviceGet;
  PFN_cuDeviceGetName cuDeviceGetName;
  PFN_cuDeviceTotalMem cuDeviceTotalMem;
  PFN_cuDeviceGetAttribute cuDeviceGetAttribute;
  PFN_cuDevicePrimaryCtxRetain cuDevicePrimaryCtxRetain;
  PFN_cuDevicePrimaryCtxRelease cuDevicePrimaryCtxRelease;
  PFN_cuCtxSetCurrent cuCtxSetCurrent;
  PFN_cuCtxSynchronize cuCtxSynchronize;
  PFN_cuModuleLoad cuModuleLoad;
  PFN_cuModuleUnload cuModuleUnload;
  PFN_cuModuleGetFunction cuModuleGetFunction;
  PFN_cuFuncSetAttribute cuFuncSetAttribute;
  PFN_cuMemAlloc cuMemAlloc;
  PFN_cuMemFree cuMemFree;
  PFN_cuMemcpyHtoDAsync cuMemcpyHtoDAsync;
  PFN_cuMemcpyDtoHAsync cuMemcpyDtoHAsync;
  PFN_cuMemsetD8Async cuMemsetD8Async;
  PFN_cuStreamCreate cuStreamCreate;
  PFN_cuStreamDestroy cuStreamDestroy;
  PFN_cuStreamSynchronize cuStreamSynchronize;
  PFN_cuEventCreate cuEventCreate;
  PFN_cuEventDestroy cuEventDestroy;
  PFN_cuEventRecord cuEventRecord;
  PFN_cuEventSynchronize cuEventSynchronize;
  PFN_cuEventElapsedTime cuEventElapsedTime;
  PFN_cuLaunchKernel cuLaunchKernel;
  // Optional (resolveOptional): graphs.
  PFN_cuStreamBeginCapture cuStreamBeginCapture;
  PFN_cuStreamEndCapture cuStreamEndCapture;
  PFN_cuGraphInstantiateWithFlags cuGraphInstantiateWithFlags;
  PFN_cuGraphDestroy cuGraphDestroy;
  PFN_cuGraphLaunch cuGraphLaunch;
  PFN_cuGraphExecDestroy cuGraphExecDestroy;
};

CudaFunctions fn{};  // filled once by load(), read-only afterwards

// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", from the driver itself.
std::string describe(CUresult status) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (fn.cuGetErrorName == nullptr || fn.cuGetErrorName(status, &name) != CUDA_SUCCESS) name = nullptr;
  if (fn.cuGetErrorString == nullptr || fn.cuGetErrorString(status, &text) != CUDA_SUCCESS) text = nullptr;
  std::string out = name ? name : "CUresult " + std::to_string(status);
  if (text) out += std::string(" (") + text + ")";
  return out;
}

void check(CUresult status, const std::string& call) {
  if (status != CUDA_SUCCESS) throw std::runtime_error("cuda: " + call + " failed: " + describe(status));
}

template <class Pfn>
void resolve(PFN_cuGetProcAddress getProc, const char* name, Pfn& slot) {
  void* pointer = nullptr;
  int symbolStatus = 0;
  CUresult status = getProc(name, &pointer, kCudaAbiVersion, CU_GET_PROC_ADDRESS_DEFAULT, &symbolStatus);
  if (status != CUDA_SUCCESS || pointer == nullptr) {
    throw std::runtime_error(std::string("cuGetProcAddress found no ") + name + " for CUDA " +
                             std::to_string(kCudaAbiVersion) + " (CUresult " + std::to_string(status) +
                             ", symbol status " + std::to_string(symbolStatus) + ")");
  }
  slot = reinterpret_cast<Pfn>(pointer);
}

// For entry points we can do without: a driver that lacks one leaves the slot nullptr.
template <class Pfn>
void resolveOptional(PFN_cuGetProcAddress getProc, const char* name, Pfn& slot) {
  void* pointer = nullptr;
  int symbolStatus = 0;
  CUresult status = getProc(name, &pointer, kCudaAbiVersion, CU_GET_PROC_ADDRESS_DEFAULT, &symbolStatus);
  slot = status == CUDA_SUCCESS ? reinterpret_cast<Pfn>(pointer) : nullptr;
}

CUdevice device(int ordinal) {
  CUdevice out = 0;
  check(fn.cuDeviceGet(&out, ordinal), "cuDeviceGet(" + std::to_string(ordinal) + ")");
  return out;
}

int attribute(CUdevice dev, int which) {
  int value = 0;
  check(fn.cuDeviceGetAttribute(&value, which, dev), "cuDeviceGetAttribute(" + std::to_string(which) + ")");
  return value;
}

int deviceCount() {
  int count = 0;
  check(fn.cuDeviceGetCount(&count), "cuDeviceGetCount");
  return count;
}

GpuDeviceInfo deviceInfo(int ordinal) {
  CUdevice dev = device(ordinal);
  char name[256] = {0};
  check(fn.cuDeviceGetName(name, sizeof(name) - 1, dev), "cuDeviceGetName");
  size_t bytes = 0;
  check(fn.cuDeviceTotalMem(&bytes, dev), "cuDeviceTotalMem_v2");
  GpuDeviceInfo info;
  info.name = name;
  info.ccMajor = attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  info.ccMinor = attribute(dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  info.totalMemBytes = bytes;
  info.smCount = attribute(dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  return info;
}

void* contextAcquire(int ordinal) {
  CUcontext context = nullptr;
  check(fn.cuDevicePrimaryCtxRetain(&context, device(ordinal)), "cuDevicePrimaryCtxRetain");
  check(fn.cuCtxSetCurrent(context), "cuCtxSetCurrent");
  return context;
}

void contextRelease(int ordinal, void*) {
  check(fn.cuDevicePrimaryCtxRelease(device(ordinal)), "cuDevicePrimaryCtxRelease_v2");
}

void contextMakeCurrent(int, void* context) {
  check(fn.cuCtxSetCurrent(static_cast<CUcontext>(context)), "cuCtxSetCurrent");
}

void contextSynchronize() { check(fn.cuCtxSynchronize(), "cuCtxSynchronize"); }

void* moduleLoad(const char* path) {
  CUmodule module = nullptr;
  check(fn.cuModuleLoad(&module, path), std::string("cuModuleLoad(") + path + ")");
  return module;
}

void moduleUnload(void* module) { check(fn.cuModuleUnload(static_cast<CUmodule>(module)), "cuModuleUnload"); }

void* moduleGetFunction(void* module, const char* name) {
  CUfunction function = nullptr;
  check(fn.cuModuleGetFunction(&function, static_cast<CUmodule>(module), name),
        std::string("cuModuleGetFunction(") + name + ")");
  return function;
}

void functionSetMaxDynamicShared(void* function, int bytes) {
  check(fn.cuFuncSetAttribute(static_cast<CUfunction>(function), CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
        "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES, " + std::to_string(bytes) + ")");
}

uint64_t memAlloc(size_t bytes) {
  CUdeviceptr pointer = 0;
  check(fn.cuMemAlloc(&pointer, bytes), "cuMemAlloc_v2(" + std::to_string(bytes) + " bytes)");
  return pointer;
}

void memFree(uint64_t pointer) { check(fn.cuMemFree(pointer), "cuMemFree_v2"); }

void memcpyHtoD(uint64_t dst, const void* src, size_t bytes, void* stream) {
  check(fn.cuMemcpyHtoDAsync(dst, src, bytes, static_cast<CUstream>(stream)), "cuMemcpyHtoDAsync_v2");
}

void memcpyDtoH(void* dst, uint64_t src, size_t bytes, void* stream) {
  check(fn.cuMemcpyDtoHAsync(dst, src, bytes, static_cast<CUstream>(stream)), "cuMemcpyDtoHAsync_v2");
}

void memsetD8(uint64_t dst, unsigned char value, size_t bytes, void* stream) {
  check(fn.cuMemsetD8Async(dst, value, bytes, static_cast<CUstream>(stream)), "cuMemsetD8Async");
}

void* streamCreate() {
  CUstream stream = nullptr;
  check(fn.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  return stream;
}

void streamDestroy(void* stream) { check(fn.cuStreamDestroy(static_cast<CUstream>(stream)), "cuStreamDestroy_v2"); }

void streamSynchronize(void* stream) {
  check(fn.cuStreamSynchronize(static_cast<CUstream>(stream)), "cuStreamSynchronize");
}

void* eventCreate() {
  CUevent event = nullptr;
  check(fn.cuEventCreate(&event, CU_EVENT_DEFAULT), "cuEventCreate");
  return event;
}

void eventDestroy(void* event) { check(fn.cuEventDestroy(static_cast<CUevent>(event)), "cuEventDestroy_v2"); }

void eventRecord(void* event, void* stream) {
  check(fn.cuEventRecord(static_cast<CUevent>(event), static_cast<CUstream>(stream)), "cuEventRecord");
}

void eventSynchronize(void* event) { check(fn.cuEventSynchronize(static_cast<CUevent>(event)), "cuEventSynchronize"); }

float eventElapsedMs(void* start, void* end) {
  float ms = 0;
  check(fn.cuEventElapsedTime(&ms, static_cast<CUevent>(start), static_cast<CUevent>(end)), "cuEventElapsedTime");
  return ms;
}

void launch(void* function, const uint32_t grid[3], const uint32_t block[3], uint32_t sharedMemBytes,
            void* stream, void* args, size_t argBytes) {
  // The packed-buffer form of cuLaunchKernel: the parameters are one byte blob laid out as the
  // kernel declares them, which is what the TypeScript side packs (pack-args.ts).
  void* extra[] = {reinterpret_cast<void*>(kLaunchParamBufferPointer), args,
                   reinterpret_cast<void*>(kLaunchParamBufferSize), &argBytes,
                   reinterpret_cast<void*>(kLaunchParamEnd)};
  check(fn.cuLaunchKernel(static_cast<CUfunction>(function), grid[0], grid[1], grid[2], block[0], block[1],
                          block[2], sharedMemBytes, static_cast<CUstream>(stream), nullptr,
                          argBytes > 0 ? extra : nullptr),
        "cuLaunchKernel");
}

void captureBegin(void* stream) {
  check(fn.cuStreamBeginCapture(static_cast<CUstream>(stream), CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
        "cuStreamBeginCapture_v2");
}

void* captureEnd(void* stream) {
  CUgraph graph = nullptr;
  check(fn.cuStreamEndCapture(static_cast<CUstream>(stream), &graph), "cuStreamEndCapture");
  return graph;
}

void* graphInstantiate(void* graph) {
  CUgraphExec exec = nullptr;
  check(fn.cuGraphInstantiateWithFlags(&exec, static_cast<CUgraph>(graph), 0), "cuGraphInstantiateWithFlags");
  return exec;
}

void graphDestroy(void* graph) { check(fn.cuGraphDestroy(static_cast<CUgraph>(graph)), "cuGraphDestroy"); }

void graphLaunch(void* exec, void* stream) {
  check(fn.cuGraphLaunch(static_cast<CUgraphExec>(exec), static_cast<CUstream>(stream)), "cuGraphLaunch");
}

void graphExecDestroy(void* exec) {
  check(fn.cuGraphExecDestroy(static_cast<CUgraphExec>(exec)), "cuGraphExecDestroy");
}

struct Loaded {
  GpuApi api{};
  GpuLoadReport report{false, 0, ""};
};

Loaded load() {
  Loaded out;
  try {
    // Never unloaded: contexts and finalizers may still call into the driver until exit.
    static DynLib* library = new DynLib(libraryPath("DSV3C_LIBCUDA", "libcuda.so.1"), false);
    auto getProc = reinterpret_cast<PFN_cuGetProcAddress>(library->symbol("cuGetProcAddress_v2"));
    if (getProc == nullptr) {
      throw std::runtime_error(library->path() +
                               " has no cuGetProcAddress_v2: dsv3c needs an NVIDIA driver for CUDA 12.0 or newer");
    }
    // Error names first, so every later failure can be described by the driver itself.
    resolve(getProc, "cuGetErrorName", fn.cuGetErrorName);
    resolve(getProc, "cuGetErrorString", fn.cuGetErrorString);
    resolve(getProc, "cuDriverGetVersion", fn.cuDriverGetVersion);
    resolve(getProc, "cuInit", fn.cuInit);
    check(fn.cuDriverGetVersion(&out.report.driverVersion), "cuDriverGetVersion");
    check(fn.cuInit(0), "cuInit");
    resolve(getProc, "cuDeviceGetCount", fn.cuDeviceGetCount);
    resolve(getProc, "cuDeviceGet", fn.cuDeviceGet);
    resolve(getProc, "cuDeviceGetName", fn.cuDeviceGetName);
    resolve(getProc, "cuDeviceTotalMem", fn.cuDeviceTotalMem);
    resolve(getProc, "cuDeviceGetAttribute", fn.cuDeviceGetAttribute);
    resolve(getProc, "cuDevicePrimaryCtxRetain", fn.cuDevicePrimaryCtxRetain);
    resolve(getProc, "cuDevicePrimaryCtxRelease", fn.cuDevicePrimaryCtxRelease);
    resolve(getProc, "cuCtxSetCurrent", fn.cuCtxSetCurrent);
    resolve(getProc, "cuCtxSynchronize", fn.cuCtxSynchronize);
    resolve(getProc, "cuModuleLoad", fn.cuModuleLoad);
    resolve(getProc, "cuModuleUnload", fn.cuModuleUnload);
    resolve(getProc, "cuModuleGetFunction", fn.cuModuleGetFunction);
    resolve(getProc, "cuFuncSetAttribute", fn.cuFuncSetAttribute);
    resolve(getProc, "cuMemAlloc", fn.cuMemAlloc);
    resolve(getProc, "cuMemFree", fn.cuMemFree);
    resolve(getProc, "cuMemcpyHtoDAsync", fn.cuMemcpyHtoDAsync);
    resolve(getProc, "cuMemcpyDtoHAsync", fn.cuMemcpyDtoHAsync);
    resolve(getProc, "cuMemsetD8Async", fn.cuMemsetD8Async);
    resolve(getProc, "cuStreamCreate", fn.cuStreamCreate);
    resolve(getProc, "cuStreamDestroy", fn.cuStreamDestroy);
    resolve(getProc, "cuStreamSynchronize", fn.cuStreamSynchronize);
    resolve(getProc, "cuEventCreate", fn.cuEventCreate);
    resolve(getProc, "cuEventDestroy", fn.cuEventDestroy);
    resolve(getProc, "cuEventRecord", fn.cuEventRecord);
    resolve(getProc, "cuEventSynchronize", fn.cuEventSynchronize);
    resolve(getProc, "cuEventElapsedTime", fn.cuEventElapsedTime);
    resolve(getProc, "cuLaunchKernel", fn.cuLaunchKernel);
    resolveOptional(getProc, "cuStreamBeginCapture", fn.cuStreamBeginCapture);
    resolveOptional(getProc, "cuStreamEndCapture", fn.cuStreamEndCapture);
    resolveOptional(getProc, "cuGraphInstantiateWithFlags", fn.cuGraphInstantiateWithFlags);
    resolveOptional(getProc, "cuGraphDestroy", fn.cuGraphDestroy);
    resolveOptional(getProc, "cuGraphLaunch", fn.cuGraphLaunch);
    resolveOptional(getProc, "cuGraphExecDestroy", fn.cuGraphExecDestroy);
  } catch (const std::exception& error) {
    std::string message = error.what();
    if (message.rfind("cuda: ", 0) != 0) message = "cuda: " + message;
    out.report.error = message;
    return out;
  }
  out.report.available = true;
  out.api = GpuApi{"cuda", out.report.driverVersion, deviceCount, deviceInfo, contextAcquire, contextRelease,
                   contextMakeCurrent, contextSynchronize, moduleLoad, moduleUnload, moduleGetFunction,
                   functionSetMaxDynamicShared, memAlloc, memFree, memcpyHtoD, memcpyDtoH, memsetD8,
                   streamCreate, streamDestroy, streamSynchronize, eventCreate, eventDestroy, eventRecord,
                   eventSynchronize, eventElapsedMs, launch, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};
  // All or nothing: a Program either captures whole graphs or launches plainly.
  if (fn.cuStreamBeginCapture && fn.cuStreamEndCapture && fn.cuGraphInstantiateWithFlags && fn.cuGraphDestroy &&
      fn.cuGraphLaunch && fn.cuGraphExecDestroy) {
    out.api.captureBegin = captureBegin;
    out.api.captureEnd = captureEnd;
    out.api.graphInstantiate = graphInstantiate;
    out.api.graphDestroy = graphDestroy;
    out.api.graphLaunch = graphLaunch;
    out.api.graphExecDestroy = graphExecDestroy;
  }
  return out;
}

const Loaded& loaded() {
  static const Loaded value = load();  // thread-safe, once per process
  return value;
}

}  // namespace

const GpuApi& cudaApi() {
  if (!loaded().report.available) throw std::runtime_error(loaded().report.error);
  return loaded().api;
}

GpuLoadReport cudaLoadReport() { return loaded().report; }

}  // namespace dsv3c
