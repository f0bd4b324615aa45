#include "dynlib.h"

#include <dlfcn.h>

#include <cstdlib>
#include <stdexcept>

namespace dsv3c {

DynLib::DynLib(const std::string& path, bool closeOnDestroy)
    : path_(path), closeOnDestroy_(closeOnDestroy) {
  // RTLD_NOW: an unresolved symbol fails here, with a message, not later at the first call.
  // RTLD_LOCAL: kernel libraries must not leak symbols into each other.
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char* reason = dlerror();
    throw std::runtime_error("cannot load " + path + ": " + (reason ? reason : "unknown dlopen error"));
  }
}

DynLib::~DynLib() {
  if (handle_ != nullptr && closeOnDestroy_) dlclose(handle_);
}

void* DynLib::symbol(const char* name) const {
  dlerror();  // clear a stale error so a missing symbol is told apart from a null-valued one
  return dlsym(handle_, name);
}

std::string libraryPath(const char* envVar, const char* defaultName) {
  const char* override = std::getenv(envVar);
  return (override != nullptr && override[0] != '\0') ? std::string(override) : std::string(defaultName);
}

}  // namespace dsv3c
