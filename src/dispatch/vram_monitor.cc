#include "dispatch/vram_monitor.h"

#include <algorithm>

namespace rapid {

VramMonitor::VramMonitor(std::vector<int> devices, std::chrono::milliseconds period, Sampler sampler)
    : devices_(std::move(devices)), period_(period), sampler_(std::move(sampler)), peak_bytes_(devices_.size(), 0) {
  if (devices_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    SampleAll();
  }
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_cv_.wait_for(lock, period_, [this] { return stop_; })) SampleAll();
  });
}

VramMonitor::~VramMonitor() { Stop(); }

void VramMonitor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
    if (!devices_.empty()) SampleAll();
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<int64_t> VramMonitor::PeakUsedBytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_bytes_;
}

void VramMonitor::SampleAll() {
  for (size_t i = 0; i < devices_.size(); ++i) {
    int64_t free_bytes = 0, total_bytes = 0;
    if (!sampler_(devices_[i], &free_bytes, &total_bytes).ok()) continue;
    peak_bytes_[i] = std::max(peak_bytes_[i], total_bytes - free_bytes);
  }
}

}  // namespace rapid
