// The GPU dialect record: the few driver operations the resource classes need, one table for CUDA
// (cuda_api.cc) and one for HIP (hip_api.cc). The resource classes (gpu_*.cc) are written once
// against this table; CUDA vs HIP is which table a Context holds, not branches in the classes.
//
// Every entry checks its driver status and throws std::runtime_error on failure with the backend,
// the real driver call and the driver's own error name and text, e.g.
//   "cuda: cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
// Handles are type-erased: device pointers are uint64_t, everything else is void*.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dsv3c {

struct GpuDeviceInfo {
  std::string name;
  int ccMajor = 0;  // CUDA compute capability; on HIP the gfx major/minor HIP reports
  int ccMinor = 0;
  uint64_t totalMemBytes = 0;
  int smCount = 0;  // streaming multiprocessors (CUDA) or compute units (HIP)
};

struct GpuApi {
  const char* backend;   // "cuda" | "hip": the prefix of every error message
  int driverVersion;     // as the driver reports it (CUDA: 1000*major + 10*minor)

  int (*deviceCount)();
  GpuDeviceInfo (*deviceInfo)(int ordinal);

  // The device's primary context (CUDA) / the device selected with hipSetDevice (HIP). The
  // primary context is the one the CUDA runtime, cuBLAS and PyTorch share, so buffers interoperate.
  void* (*contextAcquire)(int ordinal);
  void (*contextRelease)(int ordinal, void* context);
  void (*contextMakeCurrent)(int ordinal, void* context);
  void (*contextSynchronize)();

  void* (*moduleLoad)(const char* path);  // a cubin (CUDA) or code object (HIP) file
  void (*moduleUnload)(void* module);
  void* (*moduleGetFunction)(void* module, const char* name);
  void (*functionSetMaxDynamicShared)(void* function, int bytes);

  uint64_t (*memAlloc)(size_t bytes);
  void (*memFree)(uint64_t pointer);
  void (*memcpyHtoD)(uint64_t dst, const void* src, size_t bytes, void* stream);
  void (*memcpyDtoH)(void* dst, uint64_t src, size_t bytes, void* stream);
  void (*memsetD8)(uint64_t dst, unsigned char value, size_t bytes, void* stream);

  void* (*streamCreate)();  // non-blocking: never implicitly ordered after the null stream
  void (*streamDestroy)(void* stream);
  void (*streamSynchronize)(void* stream);

  void* (*eventCreate)();
  void (*eventDestroy)(void* event);
  void (*eventRecord)(void* event, void* stream);
  void (*eventSynchronize)(void* event);
  float (*eventElapsedMs)(void* start, void* end);

  // `args` is the kernel's parameters packed as the kernel declares them (each at its natural
  // alignment); the driver copies them during the call.
  void (*launch)(void* function, const uint32_t grid[3], const uint32_t block[3],
                 uint32_t sharedMemBytes, void* stream, void* args, size_t argBytes);

  // Graphs: record a stream's launches once (stream capture) and replay them with one call. Each
  // is nullptr where the backend or driver lacks it (HIP here; a CUDA driver that cuGetProcAddress
  // finds no entry point in): a Program then launches plainly. hasGraphs() says which.
  void (*captureBegin)(void* stream);  // this thread's captures only (THREAD_LOCAL)
  void* (*captureEnd)(void* stream);   // the graph recorded since captureBegin
  void* (*graphInstantiate)(void* graph);
  void (*graphDestroy)(void* graph);
  void (*graphLaunch)(void* graphExec, void* stream);
  void (*graphExecDestroy)(void* graphExec);

  bool hasGraphs() const {
    return captureBegin && captureEnd && graphInstantiate && graphDestroy && graphLaunch && graphExecDestroy;
  }
};

// The loaded table, or std::runtime_error saying why the backend is unavailable (the library is
// missing, an entry point is missing, or init failed). Loading happens once per process; the
// outcome, success or failure, is kept.
const GpuApi& cudaApi();
const GpuApi& hipApi();

// What probe() reports about a backend without throwing: the error when unavailable, and the
// driver version when the library got far enough to tell it.
struct GpuLoadReport {
  bool available;
  int driverVersion;  // 0 when unknown
  std::string error;
};
GpuLoadReport cudaLoadReport();
GpuLoadReport hipLoadReport();

}  // namespace dsv3c
