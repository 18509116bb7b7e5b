#include "models/upsampled_conv.h"

#include <algorithm>
#include <utility>

namespace rapid {

namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0); }

}  // namespace

bool UpsampledConvAsTransposed(const WeightTensor& weight, int64_t factor, int64_t in_length, int64_t pad_left,
                               int64_t pad_right, WeightTensor* transposed, int64_t* crop_left, int64_t* crop_right) {
  const int64_t out = weight.shape[0], in = weight.shape[1], kernel = weight.shape[2];
  // Output t = factor·q + r, tap k reads input q + ⌊(r + k − pad_left)/factor⌋; the transposed
  // convolution gives output t from input i through tap t + crop_left − factor·i, i.e. through
  // tap `Phase(r, k)` + crop_left.
  auto phase_tap = [&](int64_t r, int64_t k) { return r - factor * FloorDiv(r + k - pad_left, factor); };
  int64_t lowest = phase_tap(0, 0), highest = lowest;
  for (int64_t r = 0; r < factor; ++r) {
    for (int64_t k = 0; k < kernel; ++k) {
      lowest = std::min(lowest, phase_tap(r, k));
      highest = std::max(highest, phase_tap(r, k));
    }
  }
  const int64_t taps = highest - lowest + 1;
  const int64_t conv_length = factor * in_length + pad_left + pad_right - kernel + 1;
  const int64_t left = -lowest;
  const int64_t right = (in_length - 1) * factor + taps - left - conv_length;
  if (left < 0 || right <= -factor || conv_length <= 0) return false;
  WeightTensor w;
  w.shape = {in, out, taps};
  w.values.assign(static_cast<size_t>(in * out * taps), 0.0f);
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t c = 0; c < in; ++c) {
      for (int64_t r = 0; r < factor; ++r) {
        for (int64_t k = 0; k < kernel; ++k) {
          const int64_t tap = phase_tap(r, k) + left;
          w.values[static_cast<size_t>((c * out + o) * taps + tap)] +=
              weight.values[static_cast<size_t>((o * in + c) * kernel + k)];
        }
      }
    }
  }
  *transposed = std::move(w);
  *crop_left = left;
  *crop_right = right;
  return true;
}

int UpsampledConv(Graph* g, int x, int64_t factor, WeightTensor weight, WeightTensor bias, int64_t pad_left,
                  int64_t pad_right) {
  if (!g->status().ok()) return -1;
  const bool fits = x >= 0 && x < static_cast<int>(g->Nodes().size()) && weight.shape.size() == 3 && factor >= 1 && pad_left >= 0 && pad_right >= 0 &&
                    weight.shape[1] == g->Node(x).channels;
  WeightTensor transposed;
  int64_t crop_left = 0, crop_right = 0;
  if (fits && UpsampledConvAsTransposed(weight, factor, g->Node(x).length, pad_left, pad_right, &transposed,
                                        &crop_left, &crop_right)) {
    return g->ConvTranspose1d(x, std::move(transposed), std::move(bias), factor, crop_left, crop_right);
  }
  return g->Conv1d(g->Upsample(x, factor), std::move(weight), std::move(bias), 1, pad_left, pad_right);
}

}  // namespace rapid
