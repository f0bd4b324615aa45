// NCCL, as far as the addon needs it today: dlopen libnccl.so.2 and ask its version, for probe().
// The communicator and collectives come with the mesh runtime; they will load through here too.
#include <stdexcept>
#include <string>

#include "dynlib.h"
#include "nccl_api.h"

namespace dsv3c {

NcclReport ncclReport() {
  static const NcclReport report = [] {
    NcclReport out{false, 0, ""};
    try {
      // Never unloaded, like the GPU drivers.
      static DynLib* library = new DynLib(libraryPath("DSV3C_LIBNCCL", "libnccl.so.2"), false);
      using GetVersion = int (*)(int*);  // ncclResult_t ncclGetVersion(int* version)
      using GetErrorString = const char* (*)(int);
      auto getVersion = reinterpret_cast<GetVersion>(library->symbol("ncclGetVersion"));
      auto getErrorString = reinterpret_cast<GetErrorString>(library->symbol("ncclGetErrorString"));
      if (getVersion == nullptr) throw std::runtime_error(library->path() + " has no ncclGetVersion");
      int status = getVersion(&out.version);
      if (status != 0) {
        const char* text = getErrorString ? getErrorString(status) : nullptr;
        throw std::runtime_error("ncclGetVersion failed: " + (text ? std::string(text) : "ncclResult_t " + std::to_string(status)));
      }
      out.available = true;
    } catch (const std::exception& error) {
      out.error = std::string("nccl: ") + error.what();
    }
    return out;
  }();
  return report;
}

}  // namespace dsv3c
