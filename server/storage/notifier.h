#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace cycle_claimer {

// The channel the notify trigger (migration 0004) signals on.
inline constexpr char kClaimableChannel[] = "cycle_claimer_claimable";

// LISTENs on kClaimableChannel over one connection of its own and calls
// `on_wake` from its thread for every notification, and after every
// (re)connect, since notifications sent while disconnected are lost. A lost
// connection is replaced with backoff. Stops on destruction.
class ClaimableNotifier {
 public:
  ClaimableNotifier(std::string database_url, std::function<void()> on_wake);
  ~ClaimableNotifier();
  ClaimableNotifier(const ClaimableNotifier&) = delete;
  ClaimableNotifier& operator=(const ClaimableNotifier&) = delete;

 private:
  void Run();

  const std::string database_url_;
  const std::function<void()> on_wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace cycle_claimer
