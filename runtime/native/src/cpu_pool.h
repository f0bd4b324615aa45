// The cpu backend's thread pool: one per process, shared by every launch. A launch hands out block
// indices from an atomic counter (blocks of uneven cost balance themselves), the calling thread
// works too, and run() returns when every block has finished.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "dsv3c_cpu_kernel.h"

namespace dsv3c {

class ThreadPool {
 public:
  // Sized from DSV3C_CPU_THREADS when set, else the CPUs this process may run on.
  static ThreadPool& shared();
  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Synchronous: blocks the caller (the JS thread) until the launch is complete.
  void run(dsv3c_kernel_fn fn, const dsv3c_args* args, int32_t blocks);

 private:
  explicit ThreadPool(int threads);
  void workerLoop();
  void drain();

  std::vector<std::thread> workers_;
  std::mutex launchMutex_;  // one launch at a time: JS worker threads may share the pool
  std::mutex mutex_;        // guards the fields below and publishes the job to the workers
  std::condition_variable wake_;
  std::condition_variable done_;
  uint64_t generation_ = 0;  // bumped per launch; a worker runs each generation once
  int busy_ = 0;             // workers still draining the current launch

  dsv3c_kernel_fn fn_ = nullptr;
  const dsv3c_args* args_ = nullptr;
  int32_t blocks_ = 0;
  std::atomic<int64_t> next_{0};  // 64-bit: claims overshoot blocks_ by up to one per thread
};

}  // namespace dsv3c
