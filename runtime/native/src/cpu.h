// The cpu backend's resources, the same shape as the GPU ones (gpu.h) where the cpu has the
// concept: Context, Module (a kernel shared library), Kernel, Buffer. There are no streams or
// events: a cpu launch runs to completion before it returns. "Device memory" is host memory the
// addon allocates (64-byte aligned), so a kernel gets plain pointers.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "dsv3c_cpu_kernel.h"
#include "dynlib.h"
#include "program.h"

namespace dsv3c {

class CpuContext : public Napi::ObjectWrap<CpuContext> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x4c7e0b9a1f2d3e01ULL, 0xb5a4c3d2e1f00110ULL};
  static constexpr const char* kClassName = "cpu.Context";
  static Napi::Function define(Napi::Env env);
  explicit CpuContext(const Napi::CallbackInfo& info);
  void checkLive(Napi::Env env) const;

 private:
  Napi::Value threads(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void synchronize(const Napi::CallbackInfo& info) {}  // launches are synchronous already
  void dispose(const Napi::CallbackInfo& info) { disposed_ = true; }
  bool disposed_ = false;
};

struct CpuLibrary {
  std::unique_ptr<DynLib> library;  // dlclose'd when the last Module/Kernel holding it is gone
};

class CpuModule : public Napi::ObjectWrap<CpuModule> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x4c7e0b9a1f2d3e02ULL, 0xb5a4c3d2e1f00120ULL};
  static constexpr const char* kClassName = "cpu.Module";
  static Napi::Function define(Napi::Env env);
  explicit CpuModule(const Napi::CallbackInfo& info);
  std::shared_ptr<CpuLibrary> live(Napi::Env env) const;

 private:
  Napi::Value path(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info) { library_.reset(); }
  std::shared_ptr<CpuLibrary> library_;
};

class CpuKernel : public Napi::ObjectWrap<CpuKernel> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x4c7e0b9a1f2d3e03ULL, 0xb5a4c3d2e1f00130ULL};
  static constexpr const char* kClassName = "cpu.Kernel";
  static Napi::Function define(Napi::Env env);
  explicit CpuKernel(const Napi::CallbackInfo& info);
  // For Program: the library (or a "was disposed" error), the function, its name and kinds.
  std::shared_ptr<CpuLibrary> liveLibrary(Napi::Env env) const;
  dsv3c_kernel_fn function() const { return function_; }
  const std::string& kernelName() const { return name_; }
  const std::string& kinds() const { return kinds_; }

 private:
  Napi::Value name(const Napi::CallbackInfo& info);
  Napi::Value argKinds(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void launch(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  std::shared_ptr<CpuLibrary> library_;  // keeps the code mapped while the kernel is usable
  dsv3c_kernel_fn function_ = nullptr;
  std::string name_;
  std::string kinds_;
};

class CpuBuffer : public Napi::ObjectWrap<CpuBuffer> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x4c7e0b9a1f2d3e04ULL, 0xb5a4c3d2e1f00140ULL};
  static constexpr const char* kClassName = "cpu.Buffer";
  static Napi::Function define(Napi::Env env);
  explicit CpuBuffer(const Napi::CallbackInfo& info);
  ~CpuBuffer() override;
  void* data(Napi::Env env) const;  // the memory, or a "was disposed" error

 private:
  Napi::Value size(const Napi::CallbackInfo& info);
  Napi::Value address(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  void write(const Napi::CallbackInfo& info);
  void read(const Napi::CallbackInfo& info);
  void fill(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

// One argument of kind 'p', 'i' or 'f' from JS (CpuArg in addon-types.ts); `what` names it.
dsv3c_arg convertCpuArg(const Napi::Value& value, char kind, const std::string& what);

struct CpuProgramLaunch {
  std::shared_ptr<CpuLibrary> library;  // keeps the code mapped while the program lives
  dsv3c_kernel_fn function;
  std::string kernel;
  std::string kinds;
  std::vector<dsv3c_arg> args;  // patched slots rewritten per run
  std::vector<ArgPatch> patches;
};

// A fixed list of cpu launches run in order, each over the thread pool (gpu.h's Program, without
// streams or graphs).
class CpuProgram : public Napi::ObjectWrap<CpuProgram> {
 public:
  static constexpr napi_type_tag kTypeTag = {0x4c7e0b9a1f2d3e05ULL, 0xb5a4c3d2e1f00150ULL};
  static constexpr const char* kClassName = "cpu.Program";
  static Napi::Function define(Napi::Env env);
  explicit CpuProgram(const Napi::CallbackInfo& info);

 private:
  void checkLive(Napi::Env env) const;
  Napi::Value launchCount(const Napi::CallbackInfo& info);
  Napi::Value paramCount(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value run(const Napi::CallbackInfo& info);
  void dispose(const Napi::CallbackInfo& info);
  std::vector<CpuProgramLaunch> launches_;
  std::vector<std::string> names_;
  std::vector<int32_t> staticGrids_;
  uint32_t paramCount_ = 0;
  // The cpu.Buffers its pointer arguments came from, kept from the garbage collector while the
  // program may run (dispose() of a Buffer still frees it: the caller's to avoid).
  std::vector<Napi::ObjectReference> buffers_;
  bool disposed_ = false;
};

// addon.cpu: { Context, Module, Kernel, Buffer, Program }.
Napi::Object defineCpuBackend(Napi::Env env);

}  // namespace dsv3c
