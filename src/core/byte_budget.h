// A fixed number of bytes that concurrent work reserves before it allocates, so that together it
// stays within a bound chosen once: `rapid serve`'s request memory (the bodies being received and
// decoded, the requests admitted and not yet answered; docs/serve.md). A reservation is a lease:
// ByteLease gives its bytes back when it is destroyed, so no error path can leak them.
// Thread safety: ByteBudget may be used from any thread; one ByteLease from one thread at a time.
#pragma once

#include <cstdint>
#include <mutex>

namespace rapid {

class ByteBudget {
 public:
  explicit ByteBudget(int64_t capacity_bytes) : capacity_(capacity_bytes) {}
  ByteBudget(const ByteBudget&) = delete;
  ByteBudget& operator=(const ByteBudget&) = delete;

  int64_t capacity() const { return capacity_; }
  int64_t held() const;  // by all leases now

 private:
  friend class ByteLease;
  // Moves the bytes held by one lease from `from` to `to`: always when shrinking, and when growing
  // only if the total stays within the capacity. True: moved.
  bool Change(int64_t from, int64_t to);

  const int64_t capacity_;
  mutable std::mutex mu_;
  int64_t held_ = 0;  // guarded by mu_
};

// Bytes held in a ByteBudget until Resize gives them back or the lease is destroyed.
class ByteLease {
 public:
  ByteLease() = default;  // of no budget: Resize always succeeds and holds nothing anywhere
  explicit ByteLease(ByteBudget* budget) : budget_(budget) {}
  ~ByteLease() { Resize(0); }
  ByteLease(ByteLease&& other) noexcept;
  ByteLease& operator=(ByteLease&& other) noexcept;
  ByteLease(const ByteLease&) = delete;
  ByteLease& operator=(const ByteLease&) = delete;

  // Holds `bytes` from now on. Shrinking always succeeds; growing only if the extra fits beside
  // what every lease holds. False: nothing changed. REQUIRES: bytes >= 0.
  bool Resize(int64_t bytes);

  int64_t bytes() const { return bytes_; }
  const ByteBudget* budget() const { return budget_; }

 private:
  ByteBudget* budget_ = nullptr;
  int64_t bytes_ = 0;
};

}  // namespace rapid
