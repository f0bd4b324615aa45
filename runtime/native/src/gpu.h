// The GPU resources, one JS class each, shared by CUDA and HIP: each class is registered twice
// (addon.cuda.X and addon.hip.X) with the backend as its class data, and all driver work goes
// through the dialect record (gpu_api.h) the Context holds.
//
// Lifetime: each class owns a *State through a shared_ptr, and a child's State holds its parent's
// (Buffer -> Context, Kernel -> Module -> Context). dispose() drops the JS object's reference at
// once and throws if the driver reports an error; the garbage collector's finalizer does the same
// without throwing. A parent's driver object is released only when the last child is gone, so a
// Context disposed before its Buffers never leaves them pointing at a released context.
#pragma once

#include <napi.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gpu_api.h"
#include "program.h"

namespace dsv3c {

// Which backend a registered class serves; passed as the class data to DefineClass.
struct GpuBackend {
  const char* name;  // "cuda" | "hip"
  const GpuApi& (*api)();
};
extern const GpuBackend kCudaBackend;
extern const GpuBackend kHipBackend;

// Runs a driver release at most once: checked (it throws) from dispose(), unchecked from the
// destructor, because finalizers cannot throw and at exit the driver may already be shutting down.
template <class Release>
void releaseOnce(bool& released, bool checked, Release&& release) {
  if (released) return;
  released = true;
  if (checked) {
    release();
    return;
  }
  try {
    release();
  } catch (...) {
  }
}

// A driver object's owner. Not copyable: a copy's destructor would release the object twice.
struct DriverObject {
  DriverObject() = default;
  DriverObject(const DriverObject&) = delete;
  DriverObject& operator=(const DriverObject&) = delete;
  bool released = false;
};

struct ContextState : DriverObject {
  ContextState(const GpuApi* api, int ordinal, void* handle) : api(api), ordinal(ordinal), handle(handle) {}
  const GpuApi* api;
  int ordinal;
  void* handle;  // CUcontext, or nullptr for HIP
  // Driver calls act on the calling thread's current context; every method makes ours current.
  void makeCurrent() const { api->contextMakeCurrent(ordinal, handle); }
  void release(bool checked) {
    releaseOnce(released, checked, [&] { api->contextRelease(ordinal, handle); });
  }
  ~ContextState() { release(false); }
};

struct ModuleState : DriverObject {
  ModuleState(std::shared_ptr<ContextState> context, void* handle, std::string path)
      : context(std::move(context)), handle(handle), path(std::move(path)) {}
  std::shared_ptr<ContextState> context;
  void* handle;
  std::string path;
  void release(bool checked) {
    releaseOnce(released, checked, [&] {
      context->makeCurrent();
      context->api->moduleUnload(handle);
    });
  }
  ~ModuleState() { release(false); }
};

// Each class's JS surface is in addon-types.ts; the .cc file says why for anything not obvious.
class GpuContext : public Napi::ObjectWrap<GpuContext> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x9d3c1a52e0b44f01ULL, 0x8a6f2d7c31e95b10ULL};
  static constexpr const char* kClassName = "Context";
  static Napi::Function define(Napi::Env env, const GpuBackend& backend);
  explicit GpuContext(const Napi::CallbackInfo& info);
  // The live state, or a "was disposed" error. `backend` must match: a hip Context cannot make
  // a cuda Buffer.
  std::shared_ptr<ContextState> live(Napi::Env env, const GpuBackend& backend) const;

 private:
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value backend(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  void synchronize(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  const GpuBackend* backend_;
  std::shared_ptr<ContextState> state_;
};

class GpuModule : public Napi::ObjectWrap<GpuModule> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x9d3c1a52e0b44f02ULL, 0x8a6f2d7c31e95b20ULL};
  static constexpr const char* kClassName = "Module";
  static Napi::Function define(Napi::Env env, const GpuBackend& backend);
  explicit GpuModule(const Napi::CallbackInfo& info);
  std::shared_ptr<ModuleState> live(Napi::Env env) const;

 private:
  Napi::Value path(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<ModuleState> state_;
};

class GpuKernel : public Napi::ObjectWrap<GpuKernel> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x9d3c1a52e0b44f03ULL, 0x8a6f2d7c31e95b30ULL};
  static constexpr const char* kClassName = "Kernel";
  static Napi::Function define(Napi::Env env, const GpuBackend& backend);
  explicit GpuKernel(const Napi::CallbackInfo& info);
  // For Program: the module (or a "was disposed" error), the function handle and its name.
  std::shared_ptr<ModuleState> liveModule(Napi::Env env) const;
  void* function() const { return function_; }
  const std::string& kernelName() const { return name_; }

 private:
  Napi::Value name(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void setMaxDynamicSharedMemory(const Napi::CallbackInfo& info);
  void launch(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<ModuleState> module_;  // keeps the code loaded while the function is usable
  void* function_ = nullptr;             // owned by the module: nothing to free
  std::string name_;
};

struct BufferState : DriverObject {
  BufferState(std::shared_ptr<ContextState> context, uint64_t pointer, size_t bytes)
      : context(std::move(context)), pointer(pointer), bytes(bytes) {}
  std::shared_ptr<ContextState> context;
  uint64_t pointer;
  size_t bytes;
  void release(bool checked) {
    releaseOnce(released, checked, [&] {
      context->makeCurrent();
      context->api->memFree(pointer);
    });
  }
  ~BufferState() { release(false); }
};

class GpuBuffer : public Napi::ObjectWrap<GpuBuffer> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x9d3c1a52e0b44f04ULL, 0x8a6f2d7c31e95b40ULL};
  static constexpr const char* kClassName = "Buffer";
  static Napi::Function define(Napi::Env env, const GpuBackend& backend);
  explicit GpuBuffer(const Napi::CallbackInfo& info);

 private:
  BufferState& live(Napi::Env env) const;
  Napi::Value size(const Napi::CallbackInfo& info);
  Napi::Value address(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void write(const Napi::CallbackInfo& info);
  void read(const Napi::CallbackInfo& info);
  void fill(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  std::unique_ptr<BufferState> state_;
};

struct StreamState : DriverObject {
  StreamState(std::shared_ptr<ContextState> context, void* handle) : context(std::move(context)), handle(handle) {}
  std::shared_ptr<ContextState> context;
  void* handle;
  void release(bool checked) {
    releaseOnce(released, checked, [&] {
      context->makeCurrent();
      context->api->streamDestroy(handle);
    });
  }
  ~StreamState() { release(false); }
};

class GpuStream : public Napi::ObjectWrap<GpuStream> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x9d3c1a52e0b44f05ULL, 0x8a6f2d7c31e95b50ULL};
  static constexpr const char* kClassName = "Stream";
  static Napi::Function define(Napi::Env env, const GpuBackend& backend);
  explicit GpuStream(const Napi::CallbackInfo& info);
  std::shared_ptr<StreamState> live(Napi::Env env) const;

 private:
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void synchronize(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<StreamState> state_;
};

// A stream argument of a call on `context`: undefined/null is the null stream (nullptr); a
// Stream of another context is an error.
void* streamArgument(const Napi::Value& value, const ContextState& context, const std::string& what);

struct EventState : DriverObject {
  EventState(std::shared_ptr<ContextState> context, void* handle) : context(std::move(context)), handle(handle) {}
  std::shared_ptr<ContextState> context;
  void* handle;
  void release(bool checked) {
    releaseOnce(released, checked, [&] {
      context->makeCurrent();
      context->api->eventDestroy(handle);
    });
  }
  ~EventState() { release(false); }
};

class GpuEvent : public Napi::ObjectWrap<GpuEvent> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x9d3c1a52e0b44f06ULL, 0x8a6f2d7c31e95b60ULL};
  static constexpr const char* kClassName = "Event";
  static Napi::Function define(Napi::Env env, const GpuBackend& backend);
  explicit GpuEvent(const Napi::CallbackInfo& info);

 private:
  EventState& live(Napi::Env env) const;
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void record(const Napi::CallbackInfo& info);
  void synchronize(const Napi::CallbackInfo& info);
  Napi::Value elapsedMs(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  std::unique_ptr<EventState> state_;
};

// One launch of a Program: everything a cuLaunchKernel needs, its parameter blob complete but for
// the patched slots, which each run rewrites from its params.
struct GpuProgramLaunch {
  std::shared_ptr<ModuleState> module;  // keeps the code loaded while the program lives
  void* function;
  std::string kernel;
  uint32_t block[3];
  uint32_t sharedMemBytes;
  std::vector<uint64_t> args;  // the blob, in 8-byte-aligned storage
  size_t argBytes;
  std::vector<ArgPatch> patches;
};

struct ProgramState : DriverObject {
  explicit ProgramState(std::shared_ptr<ContextState> context) : context(std::move(context)) {}
  std::shared_ptr<ContextState> context;
  std::vector<GpuProgramLaunch> launches;
  std::vector<std::string> names;    // kernel names, for messages
  std::vector<int32_t> staticGrids;  // 3 per launch; [0, 0, 0]: none, the run gives it
  uint32_t paramCount = 0;
  void* captureStream = nullptr;  // created at the first capture; only captures run on it
  // (params, grids) of a captured step -> its instantiated graph.
  std::map<std::vector<int64_t>, void*> graphs;
  // Destroys every graph (and, with `all`, the capture stream); checked: throws the first error
  // after trying them all.
  void releaseGraphs(bool checked, bool all);
  void release(bool checked) {
    releaseOnce(released, checked, [&] { releaseGraphs(checked, true); });
  }
  ~ProgramState() { release(false); }
};

class GpuProgram : public Napi::ObjectWrap<GpuProgram> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x9d3c1a52e0b44f07ULL, 0x8a6f2d7c31e95b70ULL};
  static constexpr const char* kClassName = "Program";
  static Napi::Function define(Napi::Env env, const GpuBackend& backend);
  explicit GpuProgram(const Napi::CallbackInfo& info);

 private:
  ProgramState& live(Napi::Env env) const;
  Napi::Value launchCount(const Napi::CallbackInfo& info);
  Napi::Value paramCount(const Napi::CallbackInfo& info);
  Napi::Value graphCount(const Napi::CallbackInfo& info);
  Napi::Value graphsSupported(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value run(const Napi::CallbackInfo& info);
  void clearGraphs(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  // Queues every launch whose grid is not empty on `stream`; errors name the launch.
  void launchAll(Napi::Env env, ProgramState& state, const std::vector<int32_t>& grids, void* stream,
                 const std::string& where);
  const GpuBackend* backend_;
  std::unique_ptr<ProgramState> state_;
};

// addon.cuda / addon.hip: { Context, Module, Kernel, Buffer, Stream, Event, Program }.
Napi::Object defineGpuBackend(Napi::Env env, const GpuBackend& backend);

}  // namespace dsv3c
