#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"

namespace cycle_claimer {

// Bounds the claims that may wait for a cycle (long polls), in all and per
// worker id: each holds a call open on the server for up to wait_timeout.
// Thread-safe.
class LongPollLimiter {
 public:
  // A long poll admitted; gives its place back when destroyed. An empty
  // (default-constructed) permit holds nothing.
  class Permit {
   public:
    Permit() = default;
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&& other) noexcept;
    ~Permit();

   private:
    friend class LongPollLimiter;
    Permit(LongPollLimiter* limiter, std::string worker_id);
    void Reset();

    LongPollLimiter* limiter_ = nullptr;
    std::string worker_id_;
  };

  LongPollLimiter(std::size_t max_total, std::size_t max_per_worker);

  // A permit for one more long poll by `worker_id`, or RESOURCE_EXHAUSTED
  // naming the limit reached.
  absl::StatusOr<Permit> Admit(const std::string& worker_id);

  // Long polls admitted and not yet given back.
  std::size_t active() const;

 private:
  void Leave(const std::string& worker_id);

  const std::size_t max_total_;
  const std::size_t max_per_worker_;
  mutable std::mutex mu_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_worker_;
};

}  // namespace cycle_claimer
