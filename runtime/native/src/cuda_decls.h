// The slice of the CUDA driver API the addon calls, declared here so that building the addon needs
// no CUDA headers. Every prototype is the ABI that cuGetProcAddress returns when asked for CUDA 12.0
// (kCudaAbiVersion); test/native/cuda-abi.test.ts compiles this header next to the toolkit's
// cudaTypedefs.h and asserts each one against the matching versioned PFN_cu*_v<N> typedef.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dsv3c::cu {

// The ABI generation every entry point is requested at. 12.0 is the first driver with
// cuGetProcAddress_v2; the cubins we build with nvcc 13 need a newer driver than that anyway.
constexpr int kCudaAbiVersion = 12000;

using CUresult = int;  // an enum in cuda.h; 0 is CUDA_SUCCESS
using CUdevice = int;
using CUdeviceptr = unsigned long long;
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;
using CUcontext = CUctx_st*;
using CUmodule = CUmod_st*;
using CUfunction = CUfunc_st*;
using CUstream = CUstream_st*;
using CUevent = CUevent_st*;
using CUgraph = CUgraph_st*;
using CUgraphExec = CUgraphExec_st*;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;
constexpr unsigned CU_EVENT_DEFAULT = 0;
constexpr unsigned long long CU_GET_PROC_ADDRESS_DEFAULT = 0;
// CUstreamCaptureMode: only this thread's unsafe calls are refused while it captures.
constexpr int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
// cuda.h has these as macros (CU_LAUNCH_PARAM_END, ...), hence names of our own.
constexpr uintptr_t kLaunchParamEnd = 0x00;
constexpr uintptr_t kLaunchParamBufferPointer = 0x01;
constexpr uintptr_t kLaunchParamBufferSize = 0x02;

// The one symbol taken with dlsym; every other entry point comes through it.
using PFN_cuGetProcAddress = CUresult (*)(const char* symbol, void** pfn, int cudaVersion,
                                          unsigned long long flags, int* symbolStatus);

using PFN_cuInit = CUresult (*)(unsigned int flags);
using PFN_cuDriverGetVersion = CUresult (*)(int* version);
using PFN_cuGetErrorName = CUresult (*)(CUresult error, const char** name);
using PFN_cuGetErrorString = CUresult (*)(CUresult error, const char** text);
using PFN_cuDeviceGetCount = CUresult (*)(int* count);
using PFN_cuDeviceGet = CUresult (*)(CUdevice* device, int ordinal);
using PFN_cuDeviceGetName = CUresult (*)(char* name, int length, CUdevice device);
using PFN_cuDeviceTotalMem = CUresult (*)(size_t* bytes, CUdevice device);
using PFN_cuDeviceGetAttribute = CUresult (*)(int* value, int attribute, CUdevice device);
using PFN_cuDevicePrimaryCtxRetain = CUresult (*)(CUcontext* context, CUdevice device);
using PFN_cuDevicePrimaryCtxRelease = CUresult (*)(CUdevice device);
using PFN_cuCtxSetCurrent = CUresult (*)(CUcontext context);
using PFN_cuCtxSynchronize = CUresult (*)();
using PFN_cuModuleLoad = CUresult (*)(CUmodule* module, const char* path);
using PFN_cuModuleUnload = CUresult (*)(CUmodule module);
using PFN_cuModuleGetFunction = CUresult (*)(CUfunction* function, CUmodule module, const char* name);
using PFN_cuFuncSetAttribute = CUresult (*)(CUfunction function, int attribute, int value);
using PFN_cuMemAlloc = CUresult (*)(CUdeviceptr* pointer, size_t bytes);
using PFN_cuMemFree = CUresult (*)(CUdeviceptr pointer);
using PFN_cuMemcpyHtoDAsync = CUresult (*)(CUdeviceptr dst, const void* src, size_t bytes, CUstream stream);
using PFN_cuMemcpyDtoHAsync = CUresult (*)(void* dst, CUdeviceptr src, size_t bytes, CUstream stream);
using PFN_cuMemsetD8Async = CUresult (*)(CUdeviceptr dst, unsigned char value, size_t count, CUstream stream);
using PFN_cuStreamCreate = CUresult (*)(CUstream* stream, unsigned int flags);
using PFN_cuStreamDestroy = CUresult (*)(CUstream stream);
using PFN_cuStreamSynchronize = CUresult (*)(CUstream stream);
using PFN_cuEventCreate = CUresult (*)(CUevent* event, unsigned int flags);
using PFN_cuEventDestroy = CUresult (*)(CUevent event);
using PFN_cuEventRecord = CUresult (*)(CUevent event, CUstream stream);
using PFN_cuEventSynchronize = CUresult (*)(CUevent event);
using PFN_cuEventElapsedTime = CUresult (*)(float* milliseconds, CUevent start, CUevent end);
using PFN_cuLaunchKernel = CUresult (*)(CUfunction function, unsigned gridX, unsigned gridY,
                                        unsigned gridZ, unsigned blockX, unsigned blockY,
                                        unsigned blockZ, unsigned sharedMemBytes, CUstream stream,
                                        void** kernelParams, void** extra);
// Graphs (stream capture and replay). Optional: a driver that lacks one gets plain launches.
using PFN_cuStreamBeginCapture = CUresult (*)(CUstream stream, int mode);  // _v2: with a mode
using PFN_cuStreamEndCapture = CUresult (*)(CUstream stream, CUgraph* graph);
using PFN_cuGraphInstantiateWithFlags = CUresult (*)(CUgraphExec* exec, CUgraph graph, unsigned long long flags);
using PFN_cuGraphDestroy = CUresult (*)(CUgraph graph);
using PFN_cuGraphLaunch = CUresult (*)(CUgraphExec exec, CUstream stream);
using PFN_cuGraphExecDestroy = CUresult (*)(CUgraphExec exec);

}  // namespace dsv3c::cu
