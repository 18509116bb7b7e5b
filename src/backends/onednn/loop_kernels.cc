#include "backends/onednn/loop_kernels.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace rapid::onednn {

namespace {

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
  void Run() override {
    const int64_t channels = out_.channels;
    for (int64_t r = 0; r < out_.Rows(); ++r) {
      const float* x = in_.data + r * channels;
      float* y = out_.data + r * channels;
      for (int64_t c = 0; c < channels; ++c) y[c] = x[c] * scale_[c] + shift_[c];
    }
  }

 private:
  View in_, out_;
  std::vector<float> scale_, shift_;
};

// An element-wise function of one or two values of one shape.
template <typename F>
class ElementWise : public LoopKernel {
 public:
  ElementWise(std::vector<View> in, View out, F f) : in_(std::move(in)), out_(out), f_(f) {}
  void Run() override {
    const int64_t n = out_.Rows() * out_.channels;
    const float* a = in_[0].data;
    float* y = out_.data;
    if (in_.size() == 1) {
      for (int64_t i = 0; i < n; ++i) y[i] = f_(a[i], 0.0f);
    } else {
      const float* b = in_[1].data;
      for (int64_t i = 0; i < n; ++i) y[i] = f_(a[i], b[i]);
    }
  }

 private:
  std::vector<View> in_;
  View out_;
  F f_;
};

template <typename F>
std::unique_ptr<LoopKernel> MakeElementWise(std::vector<View> in, View out, F f) {
  return std::make_unique<ElementWise<F>>(std::move(in), out, f);
}

class Concat : public LoopKernel {
 public:
  Concat(std::vector<View> in, View out) : in_(std::move(in)), out_(out) {}
  void Run() override {
    int64_t first = 0;
    for (const View& in : in_) {
      for (int64_t t = 0; t < out_.length; ++t) {
        std::copy_n(in.data + t * in.channels, in.channels, out_.data + t * out_.channels + first);
      }
      first += in.channels;
    }
  }

 private:
  std::vector<View> in_;
  View out_;
};

// Rows past the input's end (pad_right) are skipped, as −∞ would be.
class MaxPool : public LoopKernel {
 public:
  MaxPool(const GraphNode& n, View in, View out) : in_(in), out_(out), kernel_(n.kernel), stride_(n.stride) {}
  void Run() override {
    const int64_t channels = out_.channels;
    for (int64_t t = 0; t < out_.length; ++t) {
      float* y = out_.data + t * channels;
      const int64_t first = t * stride_, end = std::min(first + kernel_, in_.length);
      std::copy_n(in_.data + first * channels, channels, y);
      for (int64_t j = first + 1; j < end; ++j) {
        const float* x = in_.data + j * channels;
        for (int64_t c = 0; c < channels; ++c) y[c] = std::max(y[c], x[c]);
      }
    }
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

// Statistics in double: EQTransformer's eps (1e-14) is below float's resolution of the variance.
class LayerNorm : public LoopKernel {
 public:
  LayerNorm(const GraphNode& n, View in, View out)
      : in_(in), out_(out), gamma_(n.weight.values), beta_(n.bias.values), eps_(n.eps) {}
  void Run() override {
    const int64_t channels = out_.channels;
    for (int64_t r = 0; r < out_.Rows(); ++r) {
      const float* x = in_.data + r * channels;
      float* y = out_.data + r * channels;
      double sum = 0, squares = 0;
      for (int64_t c = 0; c < channels; ++c) sum += x[c];
      const double mean = sum / static_cast<double>(channels);
      for (int64_t c = 0; c < channels; ++c) squares += (x[c] - mean) * (x[c] - mean);
      const double inv_std = 1.0 / std::sqrt(squares / static_cast<double>(channels) + eps_);
      for (int64_t c = 0; c < channels; ++c) {
        y[c] = static_cast<float>((x[c] - mean) * inv_std) * gamma_[c] + beta_[c];
      }
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
    case OpKind::kRelu: return MakeElementWise(std::move(in), out, [](float x, float) { return std::max(x, 0.0f); });
    case OpKind::kAdd: return MakeElementWise(std::move(in), out, [](float a, float b) { return a + b; });
    case OpKind::kGelu:
      return MakeElementWise(std::move(in), out, [](float x, float) {
        return 0.5f * x * (1.0f + std::erf(x * static_cast<float>(M_SQRT1_2)));
      });
    case OpKind::kConcat: return std::make_unique<Concat>(std::move(in), out);
    case OpKind::kMaxPool: return std::make_unique<MaxPool>(n, in[0], out);
    case OpKind::kScaleByPeak: return std::make_unique<ScaleByPeak>(n, in[0], out);
    case OpKind::kLayerNorm: return std::make_unique<LayerNorm>(n, in[0], out);
    case OpKind::kUpsample: return std::make_unique<Upsample>(n, in[0], out);
    case OpKind::kLstm: return MakeLstmKernel(n, in[0], out);
    case OpKind::kAdditiveAttention: return MakeAdditiveAttentionKernel(n, in[0], in[1], in[2], out);
    default: return nullptr;
  }
}

}  // namespace rapid::onednn
