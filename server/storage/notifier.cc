#include "server/storage/notifier.h"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace cycle_claimer {
namespace {

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& connection,
           const std::function<void()>& on_wake)
      : pqxx::notification_receiver(connection, kClaimableChannel),
        on_wake_(on_wake) {}
  void operator()(const std::string& /*payload*/,
                  int /*backend_pid*/) override {
    on_wake_();
  }

 private:
  const std::function<void()>& on_wake_;
};

}  // namespace

ClaimableNotifier::ClaimableNotifier(std::string database_url,
                                     std::function<void()> on_wake)
    : database_url_(std::move(database_url)),
      on_wake_(std::move(on_wake)),
      thread_([this] { Run(); }) {}

ClaimableNotifier::~ClaimableNotifier() {
  stopping_ = true;
  thread_.join();
}

void ClaimableNotifier::Run() {
  absl::Duration backoff = absl::Milliseconds(100);
  bool was_lost = false;
  while (!stopping_) {
    try {
      pqxx::connection connection(database_url_);
      Receiver receiver(connection, on_wake_);
      if (was_lost) spdlog::info("notification connection is back");
      backoff = absl::Milliseconds(100);
      on_wake_();  // anything sent while we were not listening
      while (!stopping_) {
        // Short waits, so that a stop is seen within a fifth of a second.
        connection.await_notification(0, 200000);
      }
      return;
    } catch (const std::exception& e) {
      if (!was_lost) spdlog::warn("notification connection lost: {}", e.what());
      was_lost = true;
    }
    const absl::Time retry_at = absl::Now() + backoff;
    while (!stopping_ && absl::Now() < retry_at) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

}  // namespace cycle_claimer
