// Event: a marker recorded on a stream, used to wait for work and to time it on the GPU (the way
// GPU.md asks kernels to be timed: events after warm-up, not host clocks).
#include "common.h"
#include "gpu.h"

namespace dsv3c {

Napi::Function GpuEvent::define(Napi::Env env, const GpuBackend& backend) {
  return DefineClass(env, "Event",
                     {InstanceAccessor<&GpuEvent::disposed>("disposed"),
                      InstanceMethod<&GpuEvent::record>("record"),
                      InstanceMethod<&GpuEvent::synchronize>("synchronize"),
                      InstanceMethod<&GpuEvent::elapsedMs>("elapsedMs"),
                      InstanceMethod<&GpuEvent::dispose>("dispose")},
                     const_cast<GpuBackend*>(&backend));
}

GpuEvent::GpuEvent(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GpuEvent>(info) {
  Value().TypeTag(&kTypeTag);
  const auto& backend = *static_cast<const GpuBackend*>(info.Data());
  auto context = unwrapAs<GpuContext>(info[0], std::string(backend.name) + ".Event: context")
                     ->live(info.Env(), backend);
  void* handle = context->api->eventCreate();
  state_ = std::make_unique<EventState>(context, handle);
}

EventState& GpuEvent::live(Napi::Env env) const {
  if (!state_) throwDisposed(env, "Event");
  state_->context->makeCurrent();
  return *state_;
}

Napi::Value GpuEvent::disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_);
}

// record(stream?): marks the point the stream (the null stream by default) has reached.
void GpuEvent::record(const Napi::CallbackInfo& info) {
  EventState& state = live(info.Env());
  void* stream = streamArgument(info[0], *state.context, "Event.record: stream");
  state.context->api->eventRecord(state.handle, stream);
}

void GpuEvent::synchronize(const Napi::CallbackInfo& info) {
  EventState& state = live(info.Env());
  state.context->api->eventSynchronize(state.handle);
}

// start.elapsedMs(end): milliseconds between two recorded events of the same context.
Napi::Value GpuEvent::elapsedMs(const Napi::CallbackInfo& info) {
  EventState& start = live(info.Env());
  EventState& end = unwrapAs<GpuEvent>(info[0], "Event.elapsedMs: end")->live(info.Env());
  if (end.context != start.context) {
    throw Napi::Error::New(info.Env(), "Event.elapsedMs: the events belong to different contexts");
  }
  return Napi::Number::New(info.Env(), start.context->api->eventElapsedMs(start.handle, end.handle));
}

void GpuEvent::dispose(const Napi::CallbackInfo& info) {
  if (!state_) return;
  auto state = std::move(state_);
  state->release(true);
}

}  // namespace dsv3c
