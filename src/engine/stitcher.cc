#include "engine/stitcher.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "core/vector_loops.h"

namespace rapid {

namespace {
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
}  // namespace

int64_t Stitcher::Coverage(const ModelSpec& spec) {
  if (spec.PointOutput()) return 1;
  return static_cast<int64_t>(
      std::ceil(static_cast<double>(spec.in_samples) / static_cast<double>(spec.StrideSamples()) + 1.0));
}

int64_t Stitcher::HeldBytes(const ModelSpec& spec, int64_t out_samples) {
  const int64_t floats = spec.Labels() * (out_samples + (Coverage(spec) + 1) * spec.OutSamples());
  return floats * static_cast<int64_t>(sizeof(float));
}

Stitcher::Stitcher(const ModelSpec& spec, int64_t out_samples, int64_t first_window, bool expects_head)
    : spec_(spec),
      out_samples_(out_samples),
      coverage_(Coverage(spec)),
      window_samples_(spec.OutSamples()),
      blind_from_(spec.PointOutput() ? 0 : spec.blinding_pre_samples),
      blind_to_(spec.PointOutput() ? spec.OutSamples() : spec.OutSamples() - spec.blinding_post_samples),
      next_window_(first_window),
      head_pending_(expects_head),
      traces_(static_cast<size_t>(spec.Labels())) {
  for (auto& t : traces_) t.reserve(static_cast<size_t>(out_samples_));
}

void Stitcher::Add(int64_t window_index, int64_t out_start, const float* prediction) {
  std::lock_guard<std::mutex> lock(mu_);
  Window w;
  w.index = window_index;
  w.pos = out_start;
  w.begin = std::clamp<int64_t>(out_start + blind_from_, 0, out_samples_);
  w.end = std::clamp<int64_t>(out_start + blind_to_, w.begin, out_samples_);
  if (!spare_.empty()) {
    w.values = std::move(spare_.back());
    spare_.pop_back();
  }
  w.values.assign(prediction, prediction + spec_.Labels() * window_samples_);
  if (window_index != next_window_) {
    pending_.emplace(window_index, std::move(w));
    return;
  }
  Commit(std::move(w));
  CommitPending();
}

void Stitcher::Skip(int64_t window_index) {
  std::lock_guard<std::mutex> lock(mu_);
  if (window_index != next_window_) {
    pending_.emplace(window_index, std::nullopt);
    return;
  }
  ++next_window_;
  CommitPending();
}

void Stitcher::Commit(Window w) {
  // Later windows contribute from their own begin on, which is no earlier than this one's.
  safe_limit_ = std::max(safe_limit_, w.begin);
  next_window_ = w.index + 1;
  ring_.push_back(std::move(w));
  Finalise(safe_limit_);
}

void Stitcher::CommitPending() {
  while (!pending_.empty() && pending_.begin()->first == next_window_) {
    auto node = pending_.extract(pending_.begin());
    if (node.mapped()) {
      Commit(std::move(*node.mapped()));
    } else {
      ++next_window_;
    }
  }
}

void Stitcher::MergeHead(Carry head) {
  std::lock_guard<std::mutex> lock(mu_);
  assert(head_pending_ && "MergeHead once, on a stitcher that expects a head");
  for (Window& w : head) {
    w.begin = std::min(w.begin, out_samples_);
    w.end = std::min(w.end, out_samples_);
  }
  ring_.insert(ring_.begin(), std::make_move_iterator(head.begin()), std::make_move_iterator(head.end()));
  head_pending_ = false;
  Finalise(safe_limit_);
}

void Stitcher::Finalise(int64_t limit) {
  limit = std::min(limit, out_samples_);
  if (head_pending_ || limit <= final_) return;
  std::vector<const Window*> cover;
  for (int64_t a = final_; a < limit;) {
    // The windows covering sample a, and the next sample where that set changes.
    int64_t b = limit;
    cover.clear();
    for (const Window& w : ring_) {
      if (w.begin <= a && a < w.end) {
        cover.push_back(&w);
        b = std::min(b, w.end);
      } else if (w.begin > a) {
        b = std::min(b, w.begin);
      }
    }
    std::sort(cover.begin(), cover.end(),
              [&](const Window* x, const Window* y) { return x->index % coverage_ < y->index % coverage_; });
    Stack(cover, a, b);
    a = b;
  }
  final_ = limit;
  // Windows wholly before the final samples are done with; their buffers are reused.
  auto done = std::stable_partition(ring_.begin(), ring_.end(), [&](const Window& w) { return w.end > final_; });
  for (auto it = done; it != ring_.end(); ++it) spare_.push_back(std::move(it->values));
  ring_.erase(done, ring_.end());
}

namespace {

// One window's values v[0, m) stacked onto a tile: summed (avg) or maximised, NaN (no value) skipped,
// count[i] the values stacked so far.
RAPID_VECTOR_LOOPS void AccumulateTile(const float* v, int64_t m, bool avg, float* acc, int32_t* count) {
  if (avg) {
    for (int64_t i = 0; i < m; ++i) {
      const bool present = !std::isnan(v[i]);
      acc[i] += present ? v[i] : 0.0f;
      count[i] += present ? 1 : 0;
    }
  } else {
    for (int64_t i = 0; i < m; ++i) {
      const bool present = !std::isnan(v[i]);
      acc[i] = present && (count[i] == 0 || v[i] > acc[i]) ? v[i] : acc[i];
      count[i] += present ? 1 : 0;
    }
  }
}

}  // namespace

void Stitcher::Stack(const std::vector<const Window*>& cover, int64_t a, int64_t b) {
  const bool avg = spec_.stacking == Stacking::kAvg;
  // Over a tile of samples (vectorisable; the tile's sums stay in L1), each sample's values taken
  // in slot order, so the float sums round exactly as SeisBench's per-sample loop over its slots.
  constexpr int64_t kTile = 2048;
  float acc[kTile];
  int32_t count[kTile];
  for (int64_t l = 0; l < spec_.Labels(); ++l) {
    std::vector<float>& trace = traces_[static_cast<size_t>(l)];
    trace.resize(static_cast<size_t>(b));
    for (int64_t t0 = a; t0 < b; t0 += kTile) {
      const int64_t m = std::min(kTile, b - t0);
      float* dst = trace.data() + t0;
      if (cover.empty()) {
        std::fill_n(dst, m, kNan);
        continue;
      }
      std::fill_n(acc, m, 0.0f);
      std::fill_n(count, m, 0);
      for (const Window* w : cover) {
        AccumulateTile(w->values.data() + l * window_samples_ + (t0 - w->pos), m, avg, acc, count);
      }
      for (int64_t i = 0; i < m; ++i) {
        dst[i] = count[i] == 0 ? kNan : avg ? acc[i] / static_cast<float>(count[i]) : acc[i];
      }
    }
  }
}

std::vector<std::vector<float>> Stitcher::Finish(int64_t to) {
  std::lock_guard<std::mutex> lock(mu_);
  assert(!head_pending_ && "a later piece is finished after its head is merged");
  // Windows still waiting for an earlier one that never came: committed in order, the gaps skipped.
  for (auto& [index, w] : pending_) {
    if (w) Commit(std::move(*w));
  }
  pending_.clear();
  Finalise(to);
  for (auto& t : traces_) t.resize(static_cast<size_t>(std::min(to, out_samples_)));
  return std::move(traces_);
}

Stitcher::Carry Stitcher::TakeCarry(int64_t from) {
  std::lock_guard<std::mutex> lock(mu_);
  Carry carry;
  for (Window& w : ring_) {
    if (w.end <= from) continue;
    w.pos -= from;
    w.begin = std::max<int64_t>(0, w.begin - from);
    w.end -= from;
    carry.push_back(std::move(w));
  }
  ring_.clear();
  return carry;
}

void NanMargins(const std::vector<float>& trace, int64_t* leading, int64_t* trailing) {
  const int64_t n = static_cast<int64_t>(trace.size());
  int64_t a = 0;
  while (a < n && std::isnan(trace[static_cast<size_t>(a)])) ++a;
  int64_t b = 0;
  while (b < n - a && std::isnan(trace[static_cast<size_t>(n - 1 - b)])) ++b;
  *leading = a;
  *trailing = b;
}

}  // namespace rapid
