#include "cpu_pool.h"

#include <sched.h>

#include <cstdlib>
#include <string>

namespace dsv3c {
namespace {

int defaultThreads() {
  if (const char* env = std::getenv("DSV3C_CPU_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return n;
  }
  // The affinity mask, not hardware_concurrency(): in a container or under taskset the process may
  // use fewer CPUs than the machine has.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n >= 1 ? static_cast<int>(n) : 1;
}

}  // namespace

ThreadPool& ThreadPool::shared() {
  // Never destroyed: at exit, joining workers from a static destructor can race the runtime's own
  // teardown; the OS ends the idle threads with the process.
  static ThreadPool* pool = new ThreadPool(defaultThreads());
  return *pool;
}

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { workerLoop(); });
}

void ThreadPool::drain() {
  for (int64_t block = next_.fetch_add(1, std::memory_order_relaxed); block < blocks_;
       block = next_.fetch_add(1, std::memory_order_relaxed)) {
    fn_(args_, static_cast<int32_t>(block), blocks_);
  }
}

void ThreadPool::workerLoop() {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_ != seen; });
      seen = generation_;
    }
    drain();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::run(dsv3c_kernel_fn fn, const dsv3c_args* args, int32_t blocks) {
  std::lock_guard<std::mutex> launch(launchMutex_);
  {
    // Written under mutex_, read by workers after they take it: that is what publishes the job.
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = fn;
    args_ = args;
    blocks_ = blocks;
    next_.store(0, std::memory_order_relaxed);
    busy_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  drain();
  std::unique_lock<std::mutex> lock(mutex_);
  // Every worker must finish its current block before args (on the caller's stack) go away.
  done_.wait(lock, [&] { return busy_ == 0; });
}

}  // namespace dsv3c
