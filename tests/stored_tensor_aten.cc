#include "stored_tensor_aten.h"

#include <ATen/ATen.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace rapid {
namespace {

struct DTypePair {
  DType dtype;
  at::ScalarType scalar_type;
};

constexpr DTypePair kDTypes[] = {
    {DType::kFloat, at::kFloat}, {DType::kDouble, at::kDouble}, {DType::kHalf, at::kHalf},
    {DType::kBFloat16, at::kBFloat16}, {DType::kLong, at::kLong}, {DType::kInt, at::kInt},
    {DType::kShort, at::kShort}, {DType::kChar, at::kChar}, {DType::kByte, at::kByte},
    {DType::kBool, at::kBool},
};

}  // namespace

at::Tensor ToAtTensor(const StoredTensor& t) {
  for (const DTypePair& pair : kDTypes) {
    if (pair.dtype != t.dtype) continue;
    at::Tensor out = at::empty(t.shape, at::TensorOptions().dtype(pair.scalar_type));
    if (!t.bytes.empty()) std::memcpy(out.data_ptr(), t.bytes.data(), t.bytes.size());
    return out;
  }
  throw std::invalid_argument("ToAtTensor: unknown dtype");
}

StoredTensor ToStoredTensor(const at::Tensor& t) {
  for (const DTypePair& pair : kDTypes) {
    if (pair.scalar_type != t.scalar_type()) continue;
    const at::Tensor host = t.cpu().contiguous();
    StoredTensor out;
    out.dtype = pair.dtype;
    out.shape = host.sizes().vec();
    out.bytes.resize(static_cast<size_t>(host.numel()) * DTypeSize(pair.dtype));
    if (!out.bytes.empty()) std::memcpy(out.bytes.data(), host.data_ptr(), out.bytes.size());
    return out;
  }
  throw std::invalid_argument(std::string("ToStoredTensor: no stored dtype for ") + at::toString(t.scalar_type()));
}

}  // namespace rapid
