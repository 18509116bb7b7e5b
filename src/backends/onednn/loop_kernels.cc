#include "backends/onednn/loop_kernels.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/vector_loops.h"

namespace rapid::onednn {

namespace {

// The loops below are free functions so that RAPID_VECTOR_LOOPS can clone them per instruction set.

RAPID_VECTOR_LOOPS void AffineRows(const float* x, int64_t rows, int64_t channels, const float* scale,
                                   const float* shift, float* y) {
  for (int64_t r = 0; r < rows; ++r, x += channels, y += channels) {
    for (int64_t c = 0; c < channels; ++c) y[c] = x[c] * scale[c] + shift[c];
  }
}

enum class Pointwise { kRelu, kAdd, kGelu };

RAPID_VECTOR_LOOPS void PointwiseLoop(Pointwise f, const float* a, const float* b, int64_t n, float* y) {
  switch (f) {
    case Pointwise::kRelu:
      for (int64_t i = 0; i < n; ++i) y[i] = std::max(a[i], 0.0f);
      break;
    case Pointwise::kAdd:
      for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
      break;
    case Pointwise::kGelu:
      for (int64_t i = 0; i < n; ++i) y[i] = 0.5f * a[i] * (1.0f + std::erf(a[i] * static_cast<float>(M_SQRT1_2)));
      break;
  }
}

// One row of `channels` values normalised over the row; statistics in double (EQTransformer's eps,
// 1e-14, is below float's resolution of the variance).
RAPID_VECTOR_LOOPS void LayerNormRow(const float* x, int64_t channels, const float* gamma, const float* beta,
                                     double eps, float* y) {
  double sum = 0, squares = 0;
  for (int64_t c = 0; c < channels; ++c) sum += x[c];
  const double mean = sum / static_cast<double>(channels);
  for (int64_t c = 0; c < channels; ++c) squares += (x[c] - mean) * (x[c] - mean);
  const double inv_std = 1.0 / std::sqrt(squares / static_cast<double>(channels) + eps);
  for (int64_t c = 0; c < channels; ++c) y[c] = static_cast<float>((x[c] - mean) * inv_std) * gamma[c] + beta[c];
}

// y[t·channels + c] = max over stride·t ≤ s < min(stride·t + kernel, in_length) of x[s·channels + c]
// for t < out_length: max pooling in channels-last layout, rows past the input's end skipped (as
// −∞ would be). One call for the whole pooling: per output row, a library copy and a call cost
// more than the maxima of EQTransformer's 8 to 64 channels.
RAPID_VECTOR_LOOPS void MaxPoolRows(const float* x, int64_t in_length, int64_t channels, int64_t kernel,
                                    int64_t stride, int64_t out_length, float* y) {
  for (int64_t t = 0; t < out_length; ++t) {
    const float* first = x + t * stride * channels;
    const int64_t rows = std::min(kernel, in_length - t * stride);
    float* yt = y + t * channels;
    if (rows == 1) {
      std::copy_n(first, channels, yt);
      continue;
    }
    for (int64_t c = 0; c < channels; ++c) yt[c] = std::max(first[c], first[channels + c]);
    for (int64_t j = 2; j < rows; ++j) {
      for (int64_t c = 0; c < channels; ++c) yt[c] = std::max(yt[c], first[j * channels + c]);
    }
  }
}

// Per-channel y = x·scale + shift (a batch norm no convolution absorbed).
class Affine : public LoopKernel {
 public:
  Affine(const GraphNode& n, View in, View out) : in_(in), out_(out) {
    for (size_t c = 0; c < static_cast<size_t>(n.channels); ++c) {
      const double scale = n.weight.values[c] / std::sqrt(static_cast<double>(n.var.values[c]) + n.eps);
      scale_.push_back(static_cast<float>(scale));
      shift_.push_back(static_cast<float>(n.bias.values[c] - n.mean.values[c] * scale));
    }
  }
  void Run() override { AffineRows(in_.data, out_.Rows(), out_.channels, scale_.data(), shift_.data(), out_.data); }

 private:
  View in_, out_;
  std::vector<float> scale_, shift_;
};

// An element-wise function of one or two values of one shape.
class ElementWise : public LoopKernel {
 public:
  ElementWise(Pointwise f, std::vector<View> in, View out) : f_(f), in_(std::move(in)), out_(out) {}
  void Run() override {
    PointwiseLoop(f_, in_[0].data, in_.size() > 1 ? in_[1].data : nullptr, out_.Rows() * out_.channels, out_.data);
  }

 private:
  Pointwise f_;
  std::vector<View> in_;
  View out_;
};

class ZeroFill : public LoopKernel {
 public:
  ZeroFill(float* data, int64_t floats) : data_(data), floats_(floats) {}
  void Run() override { std::fill_n(data_, floats_, 0.0f); }

 private:
  float* data_;
  int64_t floats_;
};

class BorderedCopy : public LoopKernel {
 public:
  BorderedCopy(View in, View out, int64_t offset) : in_(in), out_(out), offset_(offset) {}
  void Run() override {
    const int64_t row = in_.width * in_.channels;
    for (int64_t t = 0; t < in_.length; ++t) {
      std::copy_n(in_.data + t * row, row, out_.data + ((t + offset_) * out_.width + offset_) * out_.channels);
    }
  }

 private:
  View in_, out_;
  int64_t offset_;
};

class Concat : public LoopKernel {
 public:
  Concat(std::vector<View> in, View out) : in_(std::move(in)), out_(out) {}
  void Run() override {
    int64_t first = 0;
    for (const View& in : in_) {
      if (in.channels == 1) {  // one value a row: a library copy call per value cost more than the copy
        for (int64_t t = 0; t < out_.length; ++t) out_.data[t * out_.channels + first] = in.data[t];
      } else {
        for (int64_t t = 0; t < out_.length; ++t) {
          std::copy_n(in.data + t * in.channels, in.channels, out_.data + t * out_.channels + first);
        }
      }
      first += in.channels;
    }
  }

 private:
  std::vector<View> in_;
  View out_;
};

class MaxPool : public LoopKernel {
 public:
  MaxPool(const GraphNode& n, View in, View out) : in_(in), out_(out), kernel_(n.kernel), stride_(n.stride) {}
  void Run() override {
    MaxPoolRows(in_.data, in_.length, out_.channels, kernel_, stride_, out_.length, out_.data);
  }

 private:
  View in_, out_;
  int64_t kernel_, stride_;
};

class ScaleByPeak : public LoopKernel {
 public:
  ScaleByPeak(const GraphNode& n, View in, View out) : in_(in), out_(out), eps_(static_cast<float>(n.eps)) {}
  void Run() override {
    const int64_t n = in_.Rows() * in_.channels;
    float peak = 0;
    for (int64_t i = 0; i < n; ++i) peak = std::max(peak, std::fabs(in_.data[i]));
    const float divisor = peak + eps_;
    for (int64_t i = 0; i < n; ++i) out_.data[i] = in_.data[i] / divisor;
  }

 private:
  View in_, out_;
  float eps_;
};

class LayerNorm : public LoopKernel {
 public:
  LayerNorm(const GraphNode& n, View in, View out)
      : in_(in), out_(out), gamma_(n.weight.values), beta_(n.bias.values), eps_(n.eps) {}
  void Run() override {
    const int64_t channels = out_.channels;
    for (int64_t r = 0; r < out_.Rows(); ++r) {
      LayerNormRow(in_.data + r * channels, channels, gamma_.data(), beta_.data(), eps_, out_.data + r * channels);
    }
  }

 private:
  View in_, out_;
  std::vector<float> gamma_, beta_;
  double eps_;
};

class Upsample : public LoopKernel {
 public:
  Upsample(const GraphNode& n, View in, View out) : in_(in), out_(out), factor_(n.stride) {}
  void Run() override {
    const int64_t channels = out_.channels;
    for (int64_t t = 0; t < out_.length; ++t) {
      std::copy_n(in_.data + (t / factor_) * channels, channels, out_.data + t * channels);
    }
  }

 private:
  View in_, out_;
  int64_t factor_;
};

}  // namespace

std::unique_ptr<LoopKernel> MakeZeroFill(float* data, int64_t floats) {
  return std::make_unique<ZeroFill>(data, floats);
}

std::unique_ptr<LoopKernel> MakeBorderedCopy(View in, View out, int64_t offset) {
  return std::make_unique<BorderedCopy>(in, out, offset);
}

bool IsView(const GraphNode& n, const View& input, View* out) {
  switch (n.op) {
    case OpKind::kCrop:
      *out = View{input.data + n.offset * input.channels, n.channels, n.length, 1};
      return true;
    case OpKind::kToPatches:
    case OpKind::kFromPatches:
    case OpKind::kFlattenWidth: *out = View{input.data, n.channels, n.length, 1}; return true;
    default: return false;
  }
}

std::unique_ptr<LoopKernel> MakeLoopKernel(const GraphNode& n, std::vector<View> in, View out) {
  switch (n.op) {
    case OpKind::kBatchNorm: return std::make_unique<Affine>(n, in[0], out);
    case OpKind::kRelu: return std::make_unique<ElementWise>(Pointwise::kRelu, std::move(in), out);
    case OpKind::kAdd: return std::make_unique<ElementWise>(Pointwise::kAdd, std::move(in), out);
    case OpKind::kGelu: return std::make_unique<ElementWise>(Pointwise::kGelu, std::move(in), out);
    case OpKind::kConcat: return std::make_unique<Concat>(std::move(in), out);
    case OpKind::kMaxPool: return std::make_unique<MaxPool>(n, in[0], out);
    case OpKind::kScaleByPeak: return std::make_unique<ScaleByPeak>(n, in[0], out);
    case OpKind::kLayerNorm: return std::make_unique<LayerNorm>(n, in[0], out);
    case OpKind::kUpsample: return std::make_unique<Upsample>(n, in[0], out);
    case OpKind::kLstm: return MakeLstmKernel(n, in[0], out);
    case OpKind::kDotAttention: return MakeDotAttentionKernel(n, std::move(in), out);
    case OpKind::kSpectrogram: return MakeSpectrogramKernel(n, in[0], out);
    case OpKind::kAdditiveAttention: return MakeAdditiveAttentionKernel(n, in[0], in[1], in[2], out);
    default: return nullptr;
  }
}

}  // namespace rapid::onednn
