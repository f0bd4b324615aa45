// cpu.Program: a fixed list of cpu kernel launches, checked once at construction (each kernel's
// argument count and kinds, each patch) and run with one call: each launch over the thread pool,
// in order, each finished before the next starts. The same shape as the GPU Program (gpu.h).
#include <cstring>
#include <limits>

#include "common.h"
#include "cpu.h"
#include "cpu_pool.h"

namespace dsv3c {

Napi::Function CpuProgram::define(Napi::Env env) {
  return DefineClass(env, "Program",
                     {InstanceAccessor<&CpuProgram::launchCount>("launches"),
                      InstanceAccessor<&CpuProgram::paramCount>("params"),
                      InstanceAccessor<&CpuProgram::disposed>("disposed"),
                      InstanceMethod<&CpuProgram::run>("run"),
                      InstanceMethod<&CpuProgram::dispose>("dispose")});
}

// new cpu.Program(context, { launches: [{ kernel, grid?, args, patches? }], params? })
CpuProgram::CpuProgram(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CpuProgram>(info) {
  Value().TypeTag(&kTypeTag);
  Napi::Env env = info.Env();
  const std::string where = "cpu.Program";
  unwrapAs<CpuContext>(info[0], where + ": context")->checkLive(env);
  if (!info[1].IsObject()) throw Napi::TypeError::New(env, where + ": options must be an object");
  Napi::Object options = info[1].As<Napi::Object>();
  Napi::Value params = options.Get("params");
  paramCount_ = params.IsUndefined() ? 0 : static_cast<uint32_t>(toBounded(params, 1024, where + ": params"));
  Napi::Value launchesValue = options.Get("launches");
  if (!launchesValue.IsArray()) throw Napi::TypeError::New(env, where + ": launches must be an array");
  auto launches = launchesValue.As<Napi::Array>();
  launches_.reserve(launches.Length());
  staticGrids_.resize(3 * static_cast<size_t>(launches.Length()));
  for (uint32_t i = 0; i < launches.Length(); ++i) {
    std::string label = where + ": launch " + std::to_string(i);
    Napi::Value item = launches.Get(i);
    if (!item.IsObject()) throw Napi::TypeError::New(env, label + " must be an object");
    Napi::Object launch = item.As<Napi::Object>();
    CpuKernel* kernel = unwrapAs<CpuKernel>(launch.Get("kernel"), label + ": kernel");
    CpuProgramLaunch out{};
    out.library = kernel->liveLibrary(env);
    out.function = kernel->function();
    out.kernel = kernel->kernelName();
    label = where + ": " + launchLabel(i, out.kernel);
    out.kinds = kernel->kinds();
    const std::string& kinds = out.kinds;
    readStaticGrid(launch.Get("grid"), &staticGrids_[3 * i], label + ": grid");
    Napi::Value argsValue = launch.Get("args");
    if (!argsValue.IsArray()) throw Napi::TypeError::New(env, label + ": args must be an array");
    auto args = argsValue.As<Napi::Array>();
    if (args.Length() != kinds.size()) {
      throw Napi::Error::New(env, label + " takes " + std::to_string(kinds.size()) + " argument(s) (kinds \"" + kinds +
                                      "\"), got " + std::to_string(args.Length()));
    }
    out.args.resize(kinds.size());
    for (uint32_t a = 0; a < args.Length(); ++a) {
      Napi::Value arg = args.Get(a);
      out.args[a] = convertCpuArg(arg, kinds[a], label + " argument " + std::to_string(a));
      if (kinds[a] == 'p' && arg.IsObject()) buffers_.push_back(Napi::Persistent(arg.As<Napi::Object>()));
    }
    out.patches = readPatches(launch.Get("patches"), false, kinds.size(), paramCount_, label);
    for (ArgPatch& patch : out.patches) {
      char kind = kinds[patch.at];
      if (kind == 'f') {
        throw Napi::TypeError::New(env, label + ": argument " + std::to_string(patch.at) +
                                            " is of kind 'f'; only 'p' and 'i' arguments take params");
      }
      patch.base = kind == 'p' ? static_cast<int64_t>(reinterpret_cast<uintptr_t>(out.args[patch.at].p))
                               : out.args[patch.at].i;
    }
    names_.push_back(out.kernel);
    launches_.push_back(std::move(out));
  }
}

void CpuProgram::checkLive(Napi::Env env) const {
  if (disposed_) throwDisposed(env, kClassName);
}

Napi::Value CpuProgram::launchCount(const Napi::CallbackInfo& info) {
  checkLive(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(launches_.size()));
}

Napi::Value CpuProgram::paramCount(const Napi::CallbackInfo& info) {
  checkLive(info.Env());
  return Napi::Number::New(info.Env(), paramCount_);
}

Napi::Value CpuProgram::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), disposed_);
}

// run({ params?, grids? }) -> "launched". Blocks of a launch: the product of its grid.
Napi::Value CpuProgram::run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string where = "cpu.Program.run";
  checkLive(env);
  Napi::Object options;
  if (info[0].IsUndefined()) {
    options = Napi::Object::New(env);
  } else if (info[0].IsObject()) {
    options = info[0].As<Napi::Object>();
  } else {
    throw Napi::TypeError::New(env, where + ": options must be an object");
  }
  RunInputs in = readRunInputs(options, paramCount_, staticGrids_, where, names_);
  // Everything checked and patched before the first block runs.
  std::vector<int32_t> blocks(launches_.size(), 0);
  for (size_t i = 0; i < launches_.size(); ++i) {
    const int32_t* g = &in.grids[3 * i];
    if (g[0] < 1 || g[1] < 1 || g[2] < 1) continue;  // an empty step for this kernel
    int64_t count = int64_t(g[0]) * g[1] * g[2];
    if (count > std::numeric_limits<int32_t>::max()) {
      throw Napi::RangeError::New(env, where + ": " + launchLabel(i, launches_[i].kernel) + ": " + std::to_string(count) +
                                           " blocks; at most 2^31 - 1");
    }
    blocks[i] = static_cast<int32_t>(count);
    CpuProgramLaunch& launch = launches_[i];
    for (const ArgPatch& patch : launch.patches) {
      int64_t value = patch.value(in.params.data());
      if (launch.kinds[patch.at] == 'p') {
        launch.args[patch.at].p = reinterpret_cast<void*>(static_cast<uintptr_t>(value));
      } else {
        launch.args[patch.at].i = value;
      }
    }
  }
  ThreadPool& pool = ThreadPool::shared();
  for (size_t i = 0; i < launches_.size(); ++i) {
    if (blocks[i] == 0) continue;
    CpuProgramLaunch& launch = launches_[i];
    dsv3c_args packed{static_cast<int32_t>(launch.args.size()), launch.args.data()};
    pool.run(launch.function, &packed, blocks[i]);
  }
  return Napi::String::New(env, "launched");
}

void CpuProgram::dispose(const Napi::CallbackInfo& info) {
  if (disposed_) return;
  disposed_ = true;
  launches_.clear();  // releases the libraries
  buffers_.clear();
}

}  // namespace dsv3c
