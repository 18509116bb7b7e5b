// Strict consumption of a state_dict: every key an architecture needs must exist with the right
// shape, and every key in the file must be used, so that weights that do not fit the
// architecture are rejected with the offending key named.
// Thread safety: not thread-safe; used once while building a model.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/graph.h"
#include "models/stored_tensor.h"

namespace rapid {

class StrictParams {
 public:
  // `tensors` is borrowed and must outlive this object; `source` names the file in messages.
  StrictParams(const NamedStoredTensors& tensors, std::string source);

  // OK: *out holds the tensor stored under `key` as float32 (converted from any stored dtype), with
  // `shape`. NotFound / InvalidArgument naming the key and the expected and found shapes otherwise.
  Status Take(const std::string& key, const std::vector<int64_t>& shape, WeightTensor* out);

  // Adds inference batch norm `prefix` (.weight, .bias, .running_mean, .running_var; its
  // .num_batches_tracked ignored) over node x of *graph; *out is the new node's id.
  Status TakeBatchNorm(const std::string& prefix, double eps, Graph* graph, int x, int* out);

  // Marks a key as known but unused by inference (e.g. batch-norm num_batches_tracked).
  void Ignore(const std::string& key);

  // InvalidArgument listing the keys that were never taken, if any.
  Status CheckAllUsed() const;

  // The file named in messages.
  const std::string& source() const { return source_; }

 private:
  const NamedStoredTensors& tensors_;
  std::string source_;
  std::set<std::string> used_;
};

}  // namespace rapid
