#include "models/strict_params.h"

#include <sstream>
#include <utility>

namespace rapid {

namespace {
std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << (shape.size() == 1 ? ",)" : ")");
  return s.str();
}
}  // namespace

StrictParams::StrictParams(const NamedStoredTensors& tensors, std::string source)
    : tensors_(tensors), source_(std::move(source)) {}

Status StrictParams::Take(const std::string& key, const std::vector<int64_t>& shape, WeightTensor* out) {
  for (const auto& [name, tensor] : tensors_) {
    if (name != key) continue;
    if (tensor.shape != shape) {
      return Status::InvalidArgument(source_ + ": weight '" + key + "' has shape " + ShapeString(tensor.shape) +
                                     ", the architecture needs " + ShapeString(shape));
    }
    used_.insert(key);
    out->shape = shape;
    out->values = tensor.ToFloat();
    return Status::OK();
  }
  return Status::NotFound(source_ + ": weight '" + key + "' is missing (needed with shape " + ShapeString(shape) +
                          ")");
}

Status StrictParams::TakeBatchNorm(const std::string& prefix, double eps, Graph* graph, int x, int* out) {
  RAPID_RETURN_IF_ERROR(graph->status());
  const std::vector<int64_t> c = {graph->Node(x).channels};
  WeightTensor gamma, beta, mean, var;
  RAPID_RETURN_IF_ERROR(Take(prefix + ".weight", c, &gamma));
  RAPID_RETURN_IF_ERROR(Take(prefix + ".bias", c, &beta));
  RAPID_RETURN_IF_ERROR(Take(prefix + ".running_mean", c, &mean));
  RAPID_RETURN_IF_ERROR(Take(prefix + ".running_var", c, &var));
  Ignore(prefix + ".num_batches_tracked");
  *out = graph->BatchNorm(x, std::move(gamma), std::move(beta), std::move(mean), std::move(var), eps);
  return graph->status();
}

void StrictParams::Ignore(const std::string& key) { used_.insert(key); }

Status StrictParams::CheckAllUsed() const {
  std::string unused;
  for (const auto& entry : tensors_) {
    if (used_.count(entry.first) == 0) unused += (unused.empty() ? "" : ", ") + entry.first;
  }
  if (!unused.empty()) {
    return Status::InvalidArgument(source_ + ": weights not used by the architecture: " + unused);
  }
  return Status::OK();
}

}  // namespace rapid
