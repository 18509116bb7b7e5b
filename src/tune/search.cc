#include "tune/search.h"

#include <cassert>
#include <cstdlib>
#include <map>
#include <optional>

namespace rapid {

namespace {

using Indices = std::vector<size_t>;

size_t NearestIndex(const std::vector<int64_t>& values, int64_t v) {
  size_t best = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (std::llabs(values[i] - v) < std::llabs(values[best] - v)) best = i;
  }
  return best;
}

// Measures points at most once each and keeps the history; remembers a stop.
class Measurer {
 public:
  Measurer(const std::vector<SearchDimension>& dims, const Objective& objective, const SearchOptions& options,
           SearchResult* result)
      : dims_(dims), objective_(objective), options_(options), result_(result) {}

  SearchPoint PointOf(const Indices& idx) const {
    SearchPoint p(idx.size());
    for (size_t d = 0; d < idx.size(); ++d) p[d] = dims_[d].values[idx[d]];
    return p;
  }

  bool Feasible(const Indices& idx) const { return !options_.feasible || options_.feasible(PointOf(idx)); }

  // The point's evaluation (measured now or earlier); Stop once the search must end.
  Evaluation Measure(const Indices& idx) {
    if (auto it = seen_.find(idx); it != seen_.end()) return it->second;
    if (result_->stopped) return Evaluation::Stop();
    if (options_.max_evaluations > 0 && result_->evaluations >= options_.max_evaluations) {
      result_->stopped = true;
      return Evaluation::Stop();
    }
    const SearchPoint p = PointOf(idx);
    Evaluation e = objective_(p);
    if (e.kind == Evaluation::Kind::kStop) {
      result_->stopped = true;
      return e;
    }
    result_->evaluations += 1;
    result_->history.emplace_back(p, e);
    seen_.emplace(idx, e);
    return e;
  }

 private:
  const std::vector<SearchDimension>& dims_;
  const Objective& objective_;
  const SearchOptions& options_;
  SearchResult* result_;
  std::map<Indices, Evaluation> seen_;
};

// Whether `candidate` should replace an incumbent scoring `incumbent` (nullopt: none scored yet).
bool Beats(const Evaluation& candidate, std::optional<double> incumbent, double min_gain) {
  if (candidate.kind != Evaluation::Kind::kScored) return false;
  if (!incumbent) return true;
  return candidate.score > *incumbent * (1.0 + min_gain);
}

}  // namespace

SearchResult CoordinateSearch(const std::vector<SearchDimension>& dims, const SearchPoint& start,
                              const Objective& objective, const SearchOptions& options) {
  assert(start.size() == dims.size());
  SearchResult result;
  Measurer m(dims, objective, options, &result);
  Indices cur(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    assert(!dims[d].values.empty());
    cur[d] = NearestIndex(dims[d].values, start[d]);
  }
  std::optional<double> cur_score;
  if (m.Feasible(cur)) {
    Evaluation e = m.Measure(cur);
    if (e.kind == Evaluation::Kind::kScored) cur_score = e.score;
  }
  // Walks from `cur` by `step` while each step pays; true when at least one did. Until a point has
  // scored (a failing start), failing points are walked through.
  auto walk = [&](const std::vector<int>& step) {
    bool moved = false;
    while (!result.stopped) {
      Indices next = cur;
      for (size_t d = 0; d < dims.size(); ++d) {
        const int64_t i = static_cast<int64_t>(cur[d]) + step[d];
        if (i < 0 || i >= static_cast<int64_t>(dims[d].values.size())) return moved;
        next[d] = static_cast<size_t>(i);
      }
      if (!m.Feasible(next)) return moved;
      Evaluation e = m.Measure(next);
      if (!Beats(e, cur_score, options.min_gain) && (cur_score || e.kind != Evaluation::Kind::kFailed)) return moved;
      if (e.kind == Evaluation::Kind::kScored) {
        cur_score = e.score;
        moved = true;
      }
      cur = next;
    }
    return moved;
  };
  bool improved = true;
  while (improved && !result.stopped) {
    improved = false;
    for (size_t d = 0; d < dims.size() && !result.stopped; ++d) {
      for (int dir : {+1, -1}) {
        std::vector<int> step(dims.size(), 0);
        step[d] = dir;
        if (walk(step)) {
          improved = true;
          break;  // this dimension paid in one direction: the other is uphill
        }
      }
    }
    if (improved) continue;
    // No single setting pays alone: try two at once (a ridge, e.g. more instances only pay with
    // smaller batches), then resume the coordinate passes.
    for (size_t a = 0; a < dims.size() && !improved && !result.stopped; ++a) {
      for (size_t b = a + 1; b < dims.size() && !improved && !result.stopped; ++b) {
        for (int da : {+1, -1}) {
          for (int db : {+1, -1}) {
            std::vector<int> step(dims.size(), 0);
            step[a] = da;
            step[b] = db;
            if (!improved && walk(step)) improved = true;
          }
        }
      }
    }
  }
  if (cur_score) {
    result.best = m.PointOf(cur);
    result.best_score = *cur_score;
  }
  return result;
}

std::vector<SearchPoint> GridPoints(const std::vector<SearchDimension>& dims,
                                    const std::function<bool(const SearchPoint&)>& feasible) {
  std::vector<SearchPoint> out;
  if (dims.empty()) return out;
  Indices idx(dims.size(), 0);
  while (true) {
    SearchPoint p(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) p[d] = dims[d].values[idx[d]];
    if (!feasible || feasible(p)) out.push_back(std::move(p));
    size_t d = dims.size();
    while (d > 0) {
      --d;
      if (++idx[d] < dims[d].values.size()) break;
      idx[d] = 0;
      if (d == 0) return out;
    }
  }
}

}  // namespace rapid
