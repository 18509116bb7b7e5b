#include "models/stored_tensor.h"

#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>

namespace rapid {

// Elements are decoded with memcpy into native types; torch.save writes them little-endian.
static_assert(std::endian::native == std::endian::little, "StoredTensor assumes a little-endian host");

namespace {

// IEEE binary16 → binary32, exact for every value (subnormals, infinities and NaNs included).
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa × 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  // Rebias the exponent (15 → 127); all ones stays all ones (infinity, NaN keeps its payload).
  const uint32_t exponent32 = exponent == 0x1fu ? 0xffu : exponent + (127 - 15);
  return std::bit_cast<float>(sign | (exponent32 << 23) | (mantissa << 13));
}

// bfloat16 is the upper half of a binary32.
float BFloat16ToFloat(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

// Decodes n elements of type T at `src` into `dst` through `convert`.
template <typename T, typename Convert>
void Decode(const unsigned char* src, size_t n, float* dst, Convert convert) {
  for (size_t i = 0; i < n; ++i) {
    T value;
    std::memcpy(&value, src + i * sizeof(T), sizeof(T));
    dst[i] = convert(value);
  }
}

template <typename T>
void DecodeCast(const unsigned char* src, size_t n, float* dst) {
  Decode<T>(src, n, dst, [](T v) { return static_cast<float>(v); });
}

}  // namespace

const char* DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kFloat: return "float32";
    case DType::kDouble: return "float64";
    case DType::kHalf: return "float16";
    case DType::kBFloat16: return "bfloat16";
    case DType::kLong: return "int64";
    case DType::kInt: return "int32";
    case DType::kShort: return "int16";
    case DType::kChar: return "int8";
    case DType::kByte: return "uint8";
    case DType::kBool: return "bool";
  }
  return "?";
}

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kDouble:
    case DType::kLong: return 8;
    case DType::kFloat:
    case DType::kInt: return 4;
    case DType::kHalf:
    case DType::kBFloat16:
    case DType::kShort: return 2;
    case DType::kChar:
    case DType::kByte:
    case DType::kBool: return 1;
  }
  return 1;
}

int64_t StoredTensor::Numel() const {
  int64_t n = 1;
  for (int64_t extent : shape) n *= extent;
  return n;
}

std::vector<float> StoredTensor::ToFloat() const {
  const size_t n = static_cast<size_t>(Numel());
  assert(bytes.size() == n * DTypeSize(dtype));  // a StoredTensor's own invariant
  std::vector<float> out(n);
  const unsigned char* src = bytes.data();
  switch (dtype) {
    case DType::kFloat:
      if (n > 0) std::memcpy(out.data(), src, n * sizeof(float));
      break;
    case DType::kDouble: DecodeCast<double>(src, n, out.data()); break;
    case DType::kHalf: Decode<uint16_t>(src, n, out.data(), HalfToFloat); break;
    case DType::kBFloat16: Decode<uint16_t>(src, n, out.data(), BFloat16ToFloat); break;
    case DType::kLong: DecodeCast<int64_t>(src, n, out.data()); break;
    case DType::kInt: DecodeCast<int32_t>(src, n, out.data()); break;
    case DType::kShort: DecodeCast<int16_t>(src, n, out.data()); break;
    case DType::kChar: DecodeCast<int8_t>(src, n, out.data()); break;
    case DType::kByte: DecodeCast<uint8_t>(src, n, out.data()); break;
    case DType::kBool:
      Decode<uint8_t>(src, n, out.data(), [](uint8_t v) { return v != 0 ? 1.0f : 0.0f; });
      break;
  }
  return out;
}

}  // namespace rapid
