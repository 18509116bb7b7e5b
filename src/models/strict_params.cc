#include "models/strict_params.h"

#include <ATen/ATen.h>

#include <sstream>

namespace rapid {

namespace {
std::string ShapeString(at::IntArrayRef shape) {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << (shape.size() == 1 ? ",)" : ")");
  return s.str();
}
}  // namespace

StrictParams::StrictParams(const std::vector<std::pair<std::string, at::Tensor>>& tensors, std::string source)
    : tensors_(tensors), source_(std::move(source)) {}

Status StrictParams::Take(const std::string& key, const std::vector<int64_t>& shape, at::Tensor* out) {
  for (const auto& [name, tensor] : tensors_) {
    if (name != key) continue;
    if (tensor.sizes() != at::IntArrayRef(shape)) {
      return Status::InvalidArgument(source_ + ": weight '" + key + "' has shape " + ShapeString(tensor.sizes()) +
                                     ", the architecture needs " + ShapeString(shape));
    }
    used_.insert(key);
    *out = tensor.to(at::kFloat).contiguous();
    return Status::OK();
  }
  return Status::NotFound(source_ + ": weight '" + key + "' is missing (needed with shape " + ShapeString(shape) +
                          ")");
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
