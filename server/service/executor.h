#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cycle_claimer {

// A fixed pool of threads for blocking work (database calls), so that gRPC's
// callback threads never block. Thread-safe.
class Executor {
 public:
  // Starts `threads` threads; at most `max_queued` tasks wait at once.
  Executor(int threads, std::size_t max_queued);
  // Runs what is queued, then joins the threads.
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`. Returns false, without running it, when the queue is full
  // or the executor is shutting down.
  bool Submit(std::function<void()> task);

 private:
  void Loop();

  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace cycle_claimer
