// cpu.Kernel: one kernel of a cpu Module, found by name with its NAME__dsv3c_info, and its launch
// on the thread pool. Launches are synchronous: the JS thread waits (and works) until every block
// is done, which is fine for the cpu target's role as a correctness check.
#include <cstring>
#include <limits>
#include <vector>

#include "common.h"
#include "cpu.h"
#include "cpu_pool.h"

namespace dsv3c {

// One argument, converted by its declared kind. `what` is "cpu kernel NAME argument I".
dsv3c_arg convertCpuArg(const Napi::Value& value, char kind, const std::string& what) {
  dsv3c_arg arg;
  std::memset(&arg, 0, sizeof(arg));
  switch (kind) {
    case 'p':
      if (value.IsNull()) {
        arg.p = nullptr;
      } else if (value.IsBigInt()) {  // a raw address, e.g. buffer.address + offset
        arg.p = reinterpret_cast<void*>(static_cast<uintptr_t>(toU64(value, what)));
      } else {
        arg.p = unwrapAs<CpuBuffer>(value, what + " (kind 'p')")->data(value.Env());
      }
      break;
    case 'i':
      arg.i = toI64(value, what + " (kind 'i')");
      break;
    case 'f':
      if (!value.IsNumber()) throw Napi::TypeError::New(value.Env(), what + " (kind 'f') must be a number");
      arg.f = value.As<Napi::Number>().DoubleValue();
      break;
  }
  return arg;
}

Napi::Function CpuKernel::define(Napi::Env env) {
  return DefineClass(env, "Kernel",
                     {InstanceAccessor<&CpuKernel::name>("name"),
                      InstanceAccessor<&CpuKernel::argKinds>("argKinds"),
                      InstanceAccessor<&CpuKernel::disposed>("disposed"),
                      InstanceMethod<&CpuKernel::launch>("launch"),
                      InstanceMethod<&CpuKernel::dispose>("dispose")});
}

CpuKernel::CpuKernel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CpuKernel>(info) {
  Value().TypeTag(&kTypeTag);
  Napi::Env env = info.Env();
  library_ = unwrapAs<CpuModule>(info[0], "cpu.Kernel: module")->live(env);
  name_ = toString(info[1], "cpu.Kernel: name");
  const DynLib& library = *library_->library;
  function_ = reinterpret_cast<dsv3c_kernel_fn>(library.symbol(name_.c_str()));
  if (function_ == nullptr) {
    throw Napi::Error::New(env, "cpu.Kernel: " + library.path() + " has no kernel named " + name_);
  }
  // The info symbol is the kernel's declared signature; without it a launch could not be checked.
  std::string infoName = name_ + "__dsv3c_info";
  auto* kernelInfo = static_cast<const dsv3c_kernel_info*>(library.symbol(infoName.c_str()));
  if (kernelInfo == nullptr) {
    throw Napi::Error::New(env, "cpu.Kernel: " + library.path() + " exports " + name_ + " but not " + infoName +
                                    " (declare cpu kernels with DSV3C_KERNEL from dsv3c_cpu_kernel.h)");
  }
  if (kernelInfo->abi_version != DSV3C_CPU_ABI_VERSION) {
    throw Napi::Error::New(env, "cpu.Kernel: " + name_ + " was built for cpu kernel ABI " +
                                    std::to_string(kernelInfo->abi_version) + ", this addon runs ABI " +
                                    std::to_string(DSV3C_CPU_ABI_VERSION));
  }
  kinds_ = kernelInfo->arg_kinds != nullptr ? kernelInfo->arg_kinds : "";
  for (char kind : kinds_) {
    if (kind != 'p' && kind != 'i' && kind != 'f') {
      throw Napi::Error::New(env, "cpu.Kernel: " + name_ + " declares argument kinds \"" + kinds_ +
                                      "\"; only 'p', 'i' and 'f' exist");
    }
  }
}

std::shared_ptr<CpuLibrary> CpuKernel::liveLibrary(Napi::Env env) const {
  if (!library_) throwDisposed(env, "cpu kernel " + name_);
  return library_;
}

Napi::Value CpuKernel::name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }
Napi::Value CpuKernel::argKinds(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), kinds_); }
Napi::Value CpuKernel::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !library_);
}

// launch({ blocks, args })
void CpuKernel::launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string where = "cpu kernel " + name_;
  if (!library_) throwDisposed(env, where);
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, where + ": launch options must be an object");
  Napi::Object options = info[0].As<Napi::Object>();
  auto blocks = static_cast<int32_t>(
      toBounded(options.Get("blocks"), std::numeric_limits<int32_t>::max(), where + ": blocks"));
  if (blocks == 0) throw Napi::RangeError::New(env, where + ": blocks must be at least 1");
  Napi::Value argsValue = options.Get("args");
  if (!argsValue.IsArray()) throw Napi::TypeError::New(env, where + ": args must be an array");
  auto args = argsValue.As<Napi::Array>();
  if (args.Length() != kinds_.size()) {
    throw Napi::Error::New(env, where + " takes " + std::to_string(kinds_.size()) + " argument(s) (kinds \"" +
                                    kinds_ + "\"), got " + std::to_string(args.Length()));
  }
  // Converted before the launch, so every argument error is thrown before any block runs.
  std::vector<dsv3c_arg> values(kinds_.size());
  for (uint32_t i = 0; i < args.Length(); ++i) {
    values[i] = convertCpuArg(args.Get(i), kinds_[i], where + " argument " + std::to_string(i));
  }
  dsv3c_args packed{static_cast<int32_t>(values.size()), values.data()};
  ThreadPool::shared().run(function_, &packed, blocks);
}

void CpuKernel::dispose(const Napi::CallbackInfo& info) {
  library_.reset();
  function_ = nullptr;
}

}  // namespace dsv3c
