// Strict consumption of a state_dict: every key an architecture needs must exist with the right
// shape, and every key in the file must be used, so that weights that do not fit the
// architecture are rejected with the offending key named.
// Thread safety: not thread-safe; used once while building a model.
#pragma once

#include <ATen/core/Tensor.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "models/graph.h"

namespace rapid {

class StrictParams {
 public:
  // `tensors` is borrowed and must outlive this object; `source` names the file in messages.
  StrictParams(const std::vector<std::pair<std::string, at::Tensor>>& tensors, std::string source);

  // OK: *out is the float32 tensor stored under `key`. NotFound / InvalidArgument naming the key
  // and the expected and found shapes otherwise.
  Status Take(const std::string& key, const std::vector<int64_t>& shape, at::Tensor* out);
  Status Take(const std::string& key, const std::vector<int64_t>& shape, WeightTensor* out);

  // Adds inference batch norm `prefix` (.weight, .bias, .running_mean, .running_var; its
  // .num_batches_tracked ignored) over node x of *graph; *out is the new node's id.
  Status TakeBatchNorm(const std::string& prefix, double eps, Graph* graph, int x, int* out);

  // Marks a key as known but unused by inference (e.g. batch-norm num_batches_tracked).
  void Ignore(const std::string& key);

  // InvalidArgument listing the keys that were never taken, if any.
  Status CheckAllUsed() const;

 private:
  const std::vector<std::pair<std::string, at::Tensor>>& tensors_;
  std::string source_;
  std::set<std::string> used_;
};

}  // namespace rapid
