#include "server/service/long_poll_limiter.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cycle_claimer {

LongPollLimiter::Permit::Permit(LongPollLimiter* limiter, std::string worker_id)
    : limiter_(limiter), worker_id_(std::move(worker_id)) {}

LongPollLimiter::Permit::Permit(Permit&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)),
      worker_id_(std::move(other.worker_id_)) {}

LongPollLimiter::Permit& LongPollLimiter::Permit::operator=(
    Permit&& other) noexcept {
  if (this != &other) {
    Reset();
    limiter_ = std::exchange(other.limiter_, nullptr);
    worker_id_ = std::move(other.worker_id_);
  }
  return *this;
}

LongPollLimiter::Permit::~Permit() { Reset(); }

void LongPollLimiter::Permit::Reset() {
  if (limiter_ != nullptr) limiter_->Leave(worker_id_);
  limiter_ = nullptr;
}

LongPollLimiter::LongPollLimiter(std::size_t max_total,
                                 std::size_t max_per_worker)
    : max_total_(max_total), max_per_worker_(max_per_worker) {}

absl::StatusOr<LongPollLimiter::Permit> LongPollLimiter::Admit(
    const std::string& worker_id) {
  std::lock_guard lock(mu_);
  if (total_ >= max_total_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "wait_timeout: this server already holds ", total_,
        " waiting claims (--max_long_polls); retry later or without a wait"));
  }
  std::size_t& mine = per_worker_[worker_id];
  if (mine >= max_per_worker_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "wait_timeout: worker_id already has ", mine,
        " waiting claims on this server (--max_long_polls_per_worker)"));
  }
  ++mine;
  ++total_;
  return Permit(this, worker_id);
}

std::size_t LongPollLimiter::active() const {
  std::lock_guard lock(mu_);
  return total_;
}

void LongPollLimiter::Leave(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  --total_;
  const auto found = per_worker_.find(worker_id);
  if (--found->second == 0) per_worker_.erase(found);
}

}  // namespace cycle_claimer
