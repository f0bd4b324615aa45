#pragma once

#include <napi.h>

namespace dsv3c {

// addon.probe(): { cuda, hip, nccl, cpu }; the shape is ProbeResult in addon-types.ts.
Napi::Value probe(const Napi::CallbackInfo& info);

}  // namespace dsv3c
