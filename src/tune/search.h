// Configuration search for `rapid tune`: coordinate descent with momentum over ordered dimensions
// (instances, batch size, …), starting from the planner's choice, stopping when no single step
// gains more than `min_gain`. It measures far fewer points than the grid: a step is taken along one
// dimension at a time and kept walking while it pays; a dimension whose first step in one direction
// pays is not tried in the other.
// The search knows nothing of what a point means: the caller's objective runs a trial (or answers
// from trials.csv, or from a cost model in the tests). Pure apart from calling the objective.
// Thread safety: one call per objective; distinct calls may run concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rapid {

// One tunable setting and the values it may take, in ascending order (steps move between
// neighbours, so the order must be the one along which the objective changes smoothly).
struct SearchDimension {
  std::string name;
  std::vector<int64_t> values;
};

// A configuration: one value per dimension, in dimension order.
using SearchPoint = std::vector<int64_t>;

// What measuring a point gave: a score (higher is better), a failure (the point is never chosen,
// e.g. out of memory), or "stop" (the time budget is spent; the search ends at once).
struct Evaluation {
  enum class Kind { kScored, kFailed, kStop };
  Kind kind = Kind::kFailed;
  double score = 0.0;
  static Evaluation Scored(double s) { return {Kind::kScored, s}; }
  static Evaluation Failed() { return {Kind::kFailed, 0.0}; }
  static Evaluation Stop() { return {Kind::kStop, 0.0}; }
};

using Objective = std::function<Evaluation(const SearchPoint&)>;

struct SearchOptions {
  // A step is taken only when it beats the incumbent by more than this fraction. Larger: fewer
  // trials and robustness to measurement noise; smaller: closer to the true optimum on a quiet
  // machine. Measured noise between identical runs here is a few percent.
  double min_gain = 0.02;
  // Most points measured (0: no limit). The search ends with what it has when reached.
  int64_t max_evaluations = 0;
  // Points that may be measured (e.g. instances × threads ≤ cores); null: every point.
  std::function<bool(const SearchPoint&)> feasible;
};

struct SearchResult {
  SearchPoint best;              // empty when no point scored
  double best_score = 0.0;
  int64_t evaluations = 0;       // distinct points measured (each at most once)
  bool stopped = false;          // the objective said stop, or max_evaluations was reached
  std::vector<std::pair<SearchPoint, Evaluation>> history;  // in measuring order
};

// Coordinate descent from `start` (snapped to the nearest value of each dimension; a start that
// fails is left for its first neighbour that scores). REQUIRES: every dimension has at least one
// value, ascending; start has one entry per dimension.
SearchResult CoordinateSearch(const std::vector<SearchDimension>& dims, const SearchPoint& start,
                              const Objective& objective, const SearchOptions& options = {});

// Every feasible point of the grid, first dimension slowest (for comparisons in tests and benches).
std::vector<SearchPoint> GridPoints(const std::vector<SearchDimension>& dims,
                                    const std::function<bool(const SearchPoint&)>& feasible = nullptr);

}  // namespace rapid
