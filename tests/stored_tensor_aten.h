// Test helper: conversions between the weight reader's StoredTensor (models/stored_tensor.h) and
// libtorch tensors, so tests can inspect and edit read tensors with ATen.
// Errors: test-only, so they throw std::invalid_argument instead of returning Status.
// Thread safety: pure functions.
#pragma once

#include <ATen/core/Tensor.h>

#include "models/stored_tensor.h"

namespace rapid {

// A CPU tensor of t's dtype and shape owning a copy of its elements.
at::Tensor ToAtTensor(const StoredTensor& t);

// The elements of `t` (any device or layout) as a StoredTensor of the same dtype and shape.
// Throws std::invalid_argument for a dtype a torch.save storage cannot hold (e.g. complex).
StoredTensor ToStoredTensor(const at::Tensor& t);

}  // namespace rapid
