// dlopen/dlsym behind one small class. Every library the addon talks to at run time (libcuda,
// libamdhip64, libnccl, the cpu kernel libraries) comes through here; none is linked, so the addon
// builds and loads on a machine that has none of them.
#pragma once

#include <string>

namespace dsv3c {

class DynLib {
 public:
  // Throws std::runtime_error("cannot load <path>: <dlerror>") when dlopen fails.
  // `closeOnDestroy` is false for GPU drivers: unloading a driver while its contexts may still be
  // referenced (finalizers run late, at exit) is undefined, so they stay mapped for the process.
  DynLib(const std::string& path, bool closeOnDestroy);
  ~DynLib();
  DynLib(const DynLib&) = delete;
  DynLib& operator=(const DynLib&) = delete;

  // nullptr when the symbol is missing; callers decide whether that is an error.
  void* symbol(const char* name) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* handle_ = nullptr;
  bool closeOnDestroy_;
};

// The library name to dlopen: the environment variable's value when set (tests point it at a fake
// driver; unusual installs at a full path), otherwise the default soname.
std::string libraryPath(const char* envVar, const char* defaultName);

}  // namespace dsv3c
