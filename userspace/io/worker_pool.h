#pragma once
// WorkerPool: a few threads that run blocking system calls off the event loop
// (the sync engine's pread/pwrite/fdatasync/fallocate, and the fallocate calls
// libaio cannot do asynchronously). A job runs on some worker thread; it hands
// its result back to the loop itself, by posting (boost::asio::post).
//
// Contract: jobs start in submission order; with more than one thread they may
// finish in any order. Threads sleep on a condition variable when idle (no
// polling). The destructor stops and joins the threads; jobs still queued then
// are a bug of the owner (asserted): owners drain their I/O first.
// Thread-safety: Run() may be called from any thread.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tandem::io {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Run(std::function<void()> job);
  size_t threads() const { return threads_.size(); }

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;  // guarded by mu_
  bool stopping_ = false;                   // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace tandem::io
