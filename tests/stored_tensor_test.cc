#include "models/stored_tensor.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "stored_tensor_aten.h"

namespace rapid {
namespace {

// ToFloat against ATen's own .to(float32) of the same elements: bitwise, NaNs only as NaNs.
void ExpectSameAsAtenFloat(const at::Tensor& source) {
  const StoredTensor stored = ToStoredTensor(source);
  const std::vector<float> mine = stored.ToFloat();
  const at::Tensor ref = source.to(at::kFloat).contiguous();
  ASSERT_EQ(mine.size(), static_cast<size_t>(ref.numel()));
  const float* theirs = ref.data_ptr<float>();
  for (size_t i = 0; i < mine.size(); ++i) {
    if (std::isnan(theirs[i])) {
      EXPECT_TRUE(std::isnan(mine[i])) << DTypeName(stored.dtype) << " element " << i;
    } else {
      EXPECT_EQ(std::memcmp(&mine[i], &theirs[i], sizeof(float)), 0)
          << DTypeName(stored.dtype) << " element " << i << ": " << mine[i] << " vs " << theirs[i];
    }
  }
}

TEST(StoredTensorTest, EveryHalfAndBFloat16Pattern) {
  // All 65536 bit patterns: zeros, subnormals, normals, infinities and NaNs of both signs.
  const at::Tensor bits = at::arange(0, 65536, at::kInt).to(at::kShort);
  ExpectSameAsAtenFloat(bits.view(at::kHalf));
  ExpectSameAsAtenFloat(bits.view(at::kBFloat16));
}

TEST(StoredTensorTest, IntegersDoublesAndBoolsAsTorchConvertsThem) {
  at::manual_seed(3);
  const at::Tensor doubles = at::randn({1000}, at::kDouble) * 1e6;
  ExpectSameAsAtenFloat(doubles);
  ExpectSameAsAtenFloat(at::tensor({0.1, -2.5e-40, 3.4028235677973366e38, 1e-320}, at::kDouble));
  ExpectSameAsAtenFloat(at::randint(-(int64_t{1} << 62), int64_t{1} << 62, {1000}, at::kLong));
  ExpectSameAsAtenFloat(at::randint(INT32_MIN, INT32_MAX, {1000}, at::kInt));
  ExpectSameAsAtenFloat(at::randint(INT16_MIN, INT16_MAX, {1000}, at::kShort));
  ExpectSameAsAtenFloat(at::randint(-128, 128, {256}, at::kChar));
  ExpectSameAsAtenFloat(at::randint(0, 256, {256}, at::kByte));
  ExpectSameAsAtenFloat(at::tensor({1, 0, 1}, at::kInt).to(at::kBool));
  ExpectSameAsAtenFloat(at::randn({3, 4, 5}, at::kFloat));
}

TEST(StoredTensorTest, ShapeAndSizes) {
  StoredTensor scalar{DType::kLong, {}, std::vector<unsigned char>(8, 0)};
  EXPECT_EQ(scalar.Numel(), 1);
  EXPECT_EQ(scalar.ToFloat(), std::vector<float>{0.0f});
  StoredTensor empty{DType::kHalf, {3, 0, 2}, {}};
  EXPECT_EQ(empty.Numel(), 0);
  EXPECT_TRUE(empty.ToFloat().empty());
  EXPECT_EQ(DTypeSize(DType::kBFloat16), 2u);
  EXPECT_EQ(DTypeSize(DType::kDouble), 8u);
  EXPECT_STREQ(DTypeName(DType::kChar), "int8");
}

}  // namespace
}  // namespace rapid
