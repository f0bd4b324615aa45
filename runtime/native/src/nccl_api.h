// NCCL loaded at run time (nccl_api.cc); only the probe for now.
#pragma once

#include <string>

namespace dsv3c {

struct NcclReport {
  bool available;
  int version;  // NCCL_VERSION_CODE: major*10000 + minor*100 + patch (2.9 and newer)
  std::string error;
};

// Loads libnccl.so.2 (or $DSV3C_LIBNCCL) once per process; never throws.
NcclReport ncclReport();

}  // namespace dsv3c
