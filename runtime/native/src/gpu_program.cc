// Program: a fixed list of kernel launches (a plan's phase), built once and run per step with one
// call from JS. Pointers are fixed at construction; the params of a run patch the slots that vary
// per step (program.h). run({ graph: true }) on CUDA records the step's launches once with stream
// capture and replays the instantiated graph whenever the same params and grids come again (a
// decode step of a batch size seen before); where the driver has no graph entry points, and on
// HIP, it launches plainly.
#include <cstring>
#include <limits>
#include <stdexcept>

#include "common.h"
#include "gpu.h"

namespace dsv3c {
namespace {

constexpr uint32_t kDefaultSharedLimit = 48 * 1024;  // above it CUDA needs a per-function opt-in

}  // namespace

void ProgramState::releaseGraphs(bool checked, bool all) {
  std::string firstError;
  auto attempt = [&](auto&& call) {
    try {
      call();
    } catch (const std::exception& error) {
      if (firstError.empty()) firstError = error.what();
    }
  };
  if (!graphs.empty() || (all && captureStream != nullptr)) attempt([&] { context->makeCurrent(); });
  for (auto& entry : graphs) attempt([&] { context->api->graphExecDestroy(entry.second); });
  graphs.clear();
  if (all && captureStream != nullptr) {
    attempt([&] { context->api->streamDestroy(captureStream); });
    captureStream = nullptr;
  }
  if (checked && !firstError.empty()) throw std::runtime_error(firstError);
}

Napi::Function GpuProgram::define(Napi::Env env, const GpuBackend& backend) {
  return DefineClass(env, "Program",
                     {InstanceAccessor<&GpuProgram::launchCount>("launches"),
                      InstanceAccessor<&GpuProgram::paramCount>("params"),
                      InstanceAccessor<&GpuProgram::graphCount>("graphs"),
                      InstanceAccessor<&GpuProgram::graphsSupported>("graphsSupported"),
                      InstanceAccessor<&GpuProgram::disposed>("disposed"),
                      InstanceMethod<&GpuProgram::run>("run"),
                      InstanceMethod<&GpuProgram::clearGraphs>("clearGraphs"),
                      InstanceMethod<&GpuProgram::dispose>("dispose")},
                     const_cast<GpuBackend*>(&backend));
}

// new Program(context, { launches: [{ kernel, grid?, block, sharedMemBytes?, args?, patches? }], params? })
GpuProgram::GpuProgram(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<GpuProgram>(info), backend_(static_cast<const GpuBackend*>(info.Data())) {
  Value().TypeTag(&kTypeTag);
  Napi::Env env = info.Env();
  const std::string where = std::string(backend_->name) + ".Program";
  auto context = unwrapAs<GpuContext>(info[0], where + ": context")->live(env, *backend_);
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, where + ": options must be an object");
  Napi::Object options = info[1].As<Napi::Object>();
  auto state = std::make_unique<ProgramState>(context);
  Napi::Value params = options.Get("params");
  state->paramCount = params.IsUndefined() ? 0 : static_cast<uint32_t>(toBounded(params, 1024, where + ": params"));
  Napi::Value launchesValue = options.Get("launches");
  if (!launchesValue.IsArray()) throw Napi::TypeError::New(env, where + ": launches must be an array");
  auto launches = launchesValue.As<Napi::Array>();
  state->launches.reserve(launches.Length());
  state->staticGrids.resize(3 * static_cast<size_t>(launches.Length()));
  for (uint32_t i = 0; i < launches.Length(); ++i) {
    std::string label = where + ": launch " + std::to_string(i);
    Napi::Value item = launches.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, label + " must be an object");
    Napi::Object launch = item.As<Napi::Object>();
    GpuKernel* kernel = unwrapAs<GpuKernel>(launch.Get("kernel"), label + ": kernel");
    GpuProgramLaunch out{};
    out.module = kernel->liveModule(env);
    out.function = kernel->function();
    out.kernel = kernel->kernelName();
    label = where + ": " + launchLabel(i, out.kernel);
    if (out.module->context != context) {
      throw Napi::Error::New(env, label + ": the kernel belongs to another context");
    }
    readStaticGrid(launch.Get("grid"), &state->staticGrids[3 * i], label + ": grid");
    readDims(launch.Get("block"), out.block, label + ": block");
    Napi::Value shared = launch.Get("sharedMemBytes");
    out.sharedMemBytes = shared.IsUndefined() ? 0u
                                              : static_cast<uint32_t>(toBounded(shared, std::numeric_limits<uint32_t>::max(),
                                                                                label + ": sharedMemBytes"));
    Napi::Value args = launch.Get("args");
    out.argBytes = 0;
    if (!args.IsUndefined()) {
      Bytes bytes = bytesOf(args, label + ": args");
      out.argBytes = bytes.size;
      out.args.resize((bytes.size + 7) / 8);
      if (bytes.size > 0) std::memcpy(out.args.data(), bytes.data, bytes.size);
    }
    out.patches = readPatches(launch.Get("patches"), true, out.argBytes, state->paramCount, label);
    for (ArgPatch& patch : out.patches) {  // the template's value is the base each run adds to
      const auto* at = reinterpret_cast<const uint8_t*>(out.args.data()) + patch.at;
      if (patch.bytes == 8) {
        std::memcpy(&patch.base, at, 8);
      } else {
        int32_t base32;
        std::memcpy(&base32, at, 4);
        patch.base = base32;
      }
    }
    if (out.sharedMemBytes > kDefaultSharedLimit) {
      try {
        context->api->functionSetMaxDynamicShared(out.function, static_cast<int>(out.sharedMemBytes));
      } catch (const std::exception& error) {
        throw Napi::Error::New(env, label + ": " + error.what());
      }
    }
    state->names.push_back(out.kernel);
    state->launches.push_back(std::move(out));
  }
  state_ = std::move(state);
}

ProgramState& GpuProgram::live(Napi::Env env) const {
  if (!state_) throwDisposed(env, std::string(backend_->name) + ".Program");
  return *state_;
}

Napi::Value GpuProgram::launchCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env()).launches.size()));
}

Napi::Value GpuProgram::paramCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), live(info.Env()).paramCount);
}

Napi::Value GpuProgram::graphCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(live(info.Env()).graphs.size()));
}

Napi::Value GpuProgram::graphsSupported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), live(info.Env()).context->api->hasGraphs());
}

Napi::Value GpuProgram::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_);
}

void GpuProgram::launchAll(Napi::Env env, ProgramState& state, const std::vector<int32_t>& grids, void* stream,
                           const std::string& where) {
  const GpuApi& api = *state.context->api;
  for (size_t i = 0; i < state.launches.size(); ++i) {
    const int32_t* g = &grids[3 * i];
    if (g[0] < 1 || g[1] < 1 || g[2] < 1) continue;  // an empty step for this kernel
    GpuProgramLaunch& launch = state.launches[i];
    const uint32_t grid[3] = {static_cast<uint32_t>(g[0]), static_cast<uint32_t>(g[1]), static_cast<uint32_t>(g[2])};
    try {
      api.launch(launch.function, grid, launch.block, launch.sharedMemBytes, stream, launch.args.data(), launch.argBytes);
    } catch (const std::exception& error) {
      throw Napi::Error::New(env, where + ": " + launchLabel(i, launch.kernel) + ": " + error.what());
    }
  }
}

// run({ params?, grids?, stream?, graph? }) -> "launched" | "captured" | "replayed"
Napi::Value GpuProgram::run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string where = std::string(backend_->name) + ".Program.run";
  ProgramState& state = live(env);
  Napi::Object options;
  if (info[0].IsUndefined()) {
    options = Napi::Object::New(env);
  } else if (info[0].IsObject()) {
    options = info[0].As<Napi::Object>();
  } else {
    throw Napi::TypeError::New(env, where + ": options must be an object");
  }
  RunInputs in = readRunInputs(options, state.paramCount, state.staticGrids, where, state.names);
  // Every patch before any launch, so a bad value throws with nothing queued.
  for (size_t i = 0; i < state.launches.size(); ++i) {
    GpuProgramLaunch& launch = state.launches[i];
    auto* blob = reinterpret_cast<uint8_t*>(launch.args.data());
    for (const ArgPatch& patch : launch.patches) {
      int64_t value = patch.value(in.params.data());
      if (patch.bytes == 8) {
        std::memcpy(blob + patch.at, &value, 8);
      } else {
        if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<uint32_t>::max()) {
          throw Napi::RangeError::New(env, where + ": " + launchLabel(i, launch.kernel) + ": " + std::to_string(value) +
                                               " does not fit the 4-byte argument at byte " + std::to_string(patch.at));
        }
        auto narrow = static_cast<uint32_t>(value);
        std::memcpy(blob + patch.at, &narrow, 4);
      }
    }
  }
  state.context->makeCurrent();
  void* stream = streamArgument(options.Get("stream"), *state.context, where + ": stream");
  const GpuApi& api = *state.context->api;
  if (!options.Get("graph").ToBoolean().Value() || !api.hasGraphs()) {
    launchAll(env, state, in.grids, stream, where);
    return Napi::String::New(env, "launched");
  }
  std::vector<int64_t> key = in.params;
  key.insert(key.end(), in.grids.begin(), in.grids.end());
  auto found = state.graphs.find(key);
  if (found != state.graphs.end()) {
    api.graphLaunch(found->second, stream);
    return Napi::String::New(env, "replayed");
  }
  // Captured on a stream of our own: nothing runs while capturing, so where the step then runs
  // (the caller's stream, the null stream by default) is ordered exactly as a plain run would be.
  if (state.captureStream == nullptr) state.captureStream = api.streamCreate();
  api.captureBegin(state.captureStream);
  try {
    launchAll(env, state, in.grids, state.captureStream, where + " (capturing)");
  } catch (...) {
    try {  // ends the broken capture so the stream is usable again; its error is the launch's
      void* partial = api.captureEnd(state.captureStream);
      if (partial != nullptr) api.graphDestroy(partial);
    } catch (...) {
    }
    throw;
  }
  void* graph = api.captureEnd(state.captureStream);
  void* exec = nullptr;
  try {
    exec = api.graphInstantiate(graph);
  } catch (...) {
    api.graphDestroy(graph);
    throw;
  }
  api.graphDestroy(graph);  // the instantiated graph does not need it
  state.graphs.emplace(std::move(key), exec);
  api.graphLaunch(exec, stream);
  return Napi::String::New(env, "captured");
}

void GpuProgram::clearGraphs(const Napi::CallbackInfo& info) { live(info.Env()).releaseGraphs(true, false); }

void GpuProgram::dispose(const Napi::CallbackInfo& info) {
  if (!state_) return;
  auto state = std::move(state_);
  state->release(true);
}

}  // namespace dsv3c
