#include "core/byte_budget.h"

#include <utility>

namespace rapid {

int64_t ByteBudget::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_;
}

bool ByteBudget::Change(int64_t from, int64_t to) {
  std::lock_guard<std::mutex> lock(mu_);
  if (to > from && held_ - from + to > capacity_) return false;
  held_ += to - from;
  return true;
}

ByteLease::ByteLease(ByteLease&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

ByteLease& ByteLease::operator=(ByteLease&& other) noexcept {
  if (this != &other) {
    Resize(0);
    budget_ = std::exchange(other.budget_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

bool ByteLease::Resize(int64_t bytes) {
  if (budget_ != nullptr && !budget_->Change(bytes_, bytes)) return false;
  bytes_ = bytes;
  return true;
}

}  // namespace rapid
