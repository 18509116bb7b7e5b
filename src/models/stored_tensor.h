// A tensor as a torch.save file stores it, held without libtorch: element type, shape and the
// elements' bytes. The weight-file reader (models/state_dict_reader.h) produces these, so that
// reading weights needs no libtorch; a model's description turns them into a graph's weights.
// Thread safety: a plain value; const methods may run concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rapid {

// The element types a torch.save file may hold, named after torch's <Name>Storage classes.
enum class DType { kFloat, kDouble, kHalf, kBFloat16, kLong, kInt, kShort, kChar, kByte, kBool };

// torch's name of the type: "float32", "float64", "float16", "bfloat16", "int64", "int32",
// "int16", "int8", "uint8" or "bool".
const char* DTypeName(DType dtype);
// Bytes per element: 8, 4, 2 or 1.
size_t DTypeSize(DType dtype);

struct StoredTensor {
  DType dtype = DType::kFloat;
  std::vector<int64_t> shape;  // empty: a 0-dimensional tensor (one element)
  // Numel() × DTypeSize(dtype) bytes: the elements contiguous in row-major order, little-endian
  // (as torch.save writes them); a bool is one byte, 0 or 1.
  std::vector<unsigned char> bytes;

  // The product of `shape` (1 for a 0-dimensional tensor, 0 when any extent is 0).
  int64_t Numel() const;
  // The elements as float32, as torch's .to(torch.float32) makes them: float64 and the integers
  // rounded to nearest, float16 and bfloat16 exactly, bool as 0 or 1.
  // REQUIRES: bytes.size() == Numel() × DTypeSize(dtype).
  std::vector<float> ToFloat() const;
};

// Named tensors in file order: the entries of a state_dict.
using NamedStoredTensors = std::vector<std::pair<std::string, StoredTensor>>;

}  // namespace rapid
