#include "models/eqtransformer_layers.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>

// ReLUs run in place on the fresh output of the layer before them: every large temporary avoided
// counts, since allocating (and first touching) memory is a large share of the forward time.

namespace rapid::eqt {

namespace {

constexpr double kBatchNormEps = 1e-3;
constexpr double kLayerNormEps = 1e-14;
constexpr int64_t kAttentionUnits = 32;
constexpr int64_t kFeedForwardHidden = 128;
constexpr int64_t kLstmHidden = 16;
constexpr int64_t kResCnnFilters = 64;

// SeisBench's EQTransformer constants: encoder filters and kernels (the decoder runs them in
// reverse), and the residual blocks' kernels.
constexpr std::array<int64_t, 7> kFilters = {8, 16, 16, 32, 32, 64, 64};
constexpr std::array<int64_t, 7> kKernels = {11, 9, 7, 7, 5, 5, 3};
constexpr std::array<int64_t, 7> kResCnnKernels = {3, 3, 3, 3, 2, 3, 2};

// The original's decoder drops one sample at each end after this stage (6000 → 47 → … → 752 → 750).
constexpr int64_t kOriginalCropStage = 3;
constexpr int64_t kOriginalInSamples = 6000;

std::string Index(const std::string& prefix, const char* list, size_t i) {
  return prefix + "." + list + "." + std::to_string(i);
}

}  // namespace

int64_t EncodedSamples(int64_t in_samples) {
  for (size_t i = 0; i < kFilters.size(); ++i) in_samples = (in_samples + 1) / 2;
  return in_samples;
}

Status Conv::Load(TorchParams* p, const std::string& prefix, int64_t out, int64_t in, int64_t kernel) {
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".weight", {out, in, kernel}, &weight));
  return p->Take(prefix + ".bias", {out}, &bias);
}

at::Tensor Conv::operator()(const at::Tensor& x, int64_t pad) const { return at::conv1d(x, weight, bias, 1, pad); }

Status Lstm::Load(TorchParams* p, const std::string& prefix, LstmKeys keys, int64_t in, int64_t hidden,
                  bool bidirectional, GateActivation gate) {
  hidden_ = hidden;
  gate_ = gate;
  directions_.assign(bidirectional ? 2 : 1, Direction{});
  for (size_t d = 0; d < directions_.size(); ++d) {
    std::string w_ih, w_hh, b_ih, b_hh;
    if (keys == LstmKeys::kTorch) {
      const std::string suffix = d == 0 ? "_l0" : "_l0_reverse";
      w_ih = prefix + ".weight_ih" + suffix;
      w_hh = prefix + ".weight_hh" + suffix;
      b_ih = prefix + ".bias_ih" + suffix;
      b_hh = prefix + ".bias_hh" + suffix;
    } else {
      const std::string cell = prefix + (d == 0 ? ".cell_f" : ".cell_b");
      w_ih = cell + ".weight_ih";
      w_hh = cell + ".weight_hh";
      b_ih = cell + ".bias_ih";
      b_hh = cell + ".bias_hh";
    }
    Direction& dir = directions_[d];
    at::Tensor bias_ih, bias_hh;
    RAPID_RETURN_IF_ERROR(p->Take(w_ih, {4 * hidden, in}, &dir.w_ih));
    RAPID_RETURN_IF_ERROR(p->Take(w_hh, {4 * hidden, hidden}, &dir.w_hh));
    RAPID_RETURN_IF_ERROR(p->Take(b_ih, {4 * hidden}, &bias_ih));
    RAPID_RETURN_IF_ERROR(p->Take(b_hh, {4 * hidden}, &bias_hh));
    dir.bias = (bias_ih + bias_hh).contiguous();
  }
  return Status::OK();
}

at::Tensor Lstm::WithTensorSteps(const at::Tensor& x) const {
  const int64_t batch = x.size(0);
  const int64_t steps = x.size(2);
  const int64_t h = hidden_;
  const at::Tensor xt = x.transpose(1, 2);  // (batch, time, in)
  std::vector<at::Tensor> outputs;
  for (const Direction& dir : directions_) {
    const at::Tensor pre = at::addmm(dir.bias, xt.reshape({batch * steps, -1}), dir.w_ih.t()).view({batch, steps, 4 * h});
    at::Tensor hs = at::zeros({batch, h}, x.options()), cs = at::zeros({batch, h}, x.options());
    std::vector<at::Tensor> out(static_cast<size_t>(steps));
    const bool forward = &dir == &directions_.front();
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = forward ? s : steps - 1 - s;
      const at::Tensor gates = at::addmm(pre.select(1, t), hs, dir.w_hh.t());
      const auto g = gates.chunk(4, 1);
      auto activate = [&](const at::Tensor& v) {
        return gate_ == GateActivation::kHardSigmoid ? at::clamp(v * 0.2 + 0.5, 0.0, 1.0) : at::sigmoid(v);
      };
      cs = activate(g[1]) * cs + activate(g[0]) * at::tanh(g[2]);
      hs = activate(g[3]) * at::tanh(cs);
      out[static_cast<size_t>(t)] = hs;
    }
    outputs.push_back(at::stack(out, 1));  // (batch, time, hidden)
  }
  return at::cat(outputs, 2).transpose(1, 2);
}

at::Tensor Lstm::operator()(const at::Tensor& x) const {
  if (!x.device().is_cpu()) return WithTensorSteps(x);
  const int64_t batch = x.size(0);
  const int64_t steps = x.size(2);
  const int64_t h = hidden_;
  const int64_t dirs = static_cast<int64_t>(directions_.size());
  const at::Tensor xt = x.transpose(1, 2);  // (batch, time, in)
  at::Tensor out = at::empty({batch, steps, dirs * h}, x.options());
  float* out_p = out.data_ptr<float>();
  std::vector<float> state(static_cast<size_t>(6 * h));  // hidden, cell, 4·hidden gates
  float* hs = state.data();
  float* cs = hs + h;
  float* gates = cs + h;
  for (int64_t d = 0; d < dirs; ++d) {
    const Direction& dir = directions_[static_cast<size_t>(d)];
    // Input projections of every step at once: (batch, time, 4·hidden), both biases included.
    const at::Tensor pre = at::addmm(dir.bias, xt.reshape({batch * steps, -1}), dir.w_ih.t()).contiguous();
    const float* pre_p = pre.data_ptr<float>();
    const float* w_hh = dir.w_hh.data_ptr<float>();
    for (int64_t b = 0; b < batch; ++b) {
      std::fill(hs, hs + 2 * h, 0.0f);
      for (int64_t s = 0; s < steps; ++s) {
        const int64_t t = d == 0 ? s : steps - 1 - s;
        const float* pre_t = pre_p + (b * steps + t) * 4 * h;
        for (int64_t j = 0; j < 4 * h; ++j) {
          float acc = pre_t[j];
          const float* row = w_hh + j * h;
          for (int64_t k = 0; k < h; ++k) acc += row[k] * hs[k];
          gates[j] = acc;
        }
        float* out_t = out_p + (b * steps + t) * dirs * h + d * h;
        for (int64_t j = 0; j < h; ++j) {
          float in_gate = gates[j], forget_gate = gates[h + j], out_gate = gates[3 * h + j];
          if (gate_ == GateActivation::kHardSigmoid) {
            in_gate = std::clamp(0.2f * in_gate + 0.5f, 0.0f, 1.0f);
            forget_gate = std::clamp(0.2f * forget_gate + 0.5f, 0.0f, 1.0f);
            out_gate = std::clamp(0.2f * out_gate + 0.5f, 0.0f, 1.0f);
          } else {
            in_gate = 1.0f / (1.0f + std::exp(-in_gate));
            forget_gate = 1.0f / (1.0f + std::exp(-forget_gate));
            out_gate = 1.0f / (1.0f + std::exp(-out_gate));
          }
          cs[j] = forget_gate * cs[j] + in_gate * std::tanh(gates[2 * h + j]);
          hs[j] = out_gate * std::tanh(cs[j]);
          out_t[j] = hs[j];
        }
      }
    }
  }
  return out.transpose(1, 2);
}

Status SeqSelfAttention::Load(TorchParams* p, const std::string& prefix, int64_t channels, int64_t width_samples,
                              double eps_value) {
  width = width_samples;
  eps = eps_value;
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".Wx", {channels, kAttentionUnits}, &wx));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".Wt", {channels, kAttentionUnits}, &wt));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".bh", {kAttentionUnits}, &bh));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".Wa", {kAttentionUnits, 1}, &wa));
  return p->Take(prefix + ".ba", {1}, &ba);
}

at::Tensor SeqSelfAttention::operator()(const at::Tensor& x) const {
  const at::Tensor xt = x.transpose(1, 2);             // (batch, time, channels)
  const at::Tensor query = at::matmul(xt, wt).unsqueeze(2);  // (batch, time, 1, units)
  const at::Tensor key = at::matmul(xt, wx).unsqueeze(1);    // (batch, 1, time, units)
  const at::Tensor hidden = at::tanh(query + key + bh);      // (batch, time, time, units)
  at::Tensor e = at::matmul(hidden, wa).squeeze(-1) + ba;    // (batch, time, time)
  e = at::exp(e - std::get<0>(e.max(-1, /*keepdim=*/true)));
  if (width > 0) {
    const int64_t steps = e.size(1);
    const at::Tensor t = at::arange(steps, x.options().dtype(at::kLong));
    // SeisBench's band: entry (i, j) is kept when j − width/2 ≤ i < j − width/2 + width, i.e.
    // |i − j| ≤ width/2 for an odd width.
    const at::Tensor lower = t - width / 2;  // per column j
    const at::Tensor row = t.unsqueeze(1);   // per row i
    const at::Tensor band = at::logical_and(lower <= row, row < lower + width);
    e = e * band.to(e.scalar_type());
  }
  const at::Tensor a = e / (e.sum(-1, /*keepdim=*/true) + eps);
  return at::matmul(a, xt).transpose(1, 2);
}

Status LayerNorm::Load(TorchParams* p, const std::string& prefix, int64_t channels) {
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".gamma", {channels, 1}, &gamma));
  return p->Take(prefix + ".beta", {channels, 1}, &beta);
}

at::Tensor LayerNorm::operator()(const at::Tensor& x) const {
  const at::Tensor centred = x - x.mean(1, /*keepdim=*/true);
  const at::Tensor var = (centred * centred).mean(1, /*keepdim=*/true) + kLayerNormEps;
  return centred / at::sqrt(var) * gamma + beta;
}

Status TransformerBlock::Load(TorchParams* p, const std::string& prefix, int64_t channels, double eps) {
  RAPID_RETURN_IF_ERROR(attention.Load(p, prefix + ".attention", channels, /*width_samples=*/0, eps));
  RAPID_RETURN_IF_ERROR(norm1.Load(p, prefix + ".norm1", channels));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ff.lin1.weight", {kFeedForwardHidden, channels}, &lin1_w));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ff.lin1.bias", {kFeedForwardHidden}, &lin1_b));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ff.lin2.weight", {channels, kFeedForwardHidden}, &lin2_w));
  RAPID_RETURN_IF_ERROR(p->Take(prefix + ".ff.lin2.bias", {channels}, &lin2_b));
  return norm2.Load(p, prefix + ".norm2", channels);
}

at::Tensor TransformerBlock::operator()(const at::Tensor& x) const {
  const at::Tensor y = norm1(x + attention(x));
  const at::Tensor ff = at::linear(at::linear(y.transpose(1, 2), lin1_w, lin1_b).relu_(), lin2_w, lin2_b);
  return norm2(y + ff.transpose(1, 2));
}

Status Encoder::Load(TorchParams* p, const std::string& prefix, int64_t in_channels) {
  convs.assign(kFilters.size(), Conv{});
  int64_t in = in_channels;
  for (size_t i = 0; i < kFilters.size(); ++i) {
    RAPID_RETURN_IF_ERROR(convs[i].Load(p, Index(prefix, "convs", i), kFilters[i], in, kKernels[i]));
    in = kFilters[i];
  }
  return Status::OK();
}

at::Tensor Encoder::operator()(at::Tensor x) const {
  for (size_t i = 0; i < convs.size(); ++i) {
    x = convs[i](x, kKernels[i] / 2).relu_();
    // ceil_mode pools the last odd sample alone: SeisBench pads it with -1e10 before pooling,
    // which after the ReLU gives the same maximum.
    x = at::max_pool1d(x, {2}, {2}, {0}, {1}, /*ceil_mode=*/true);
  }
  return x;
}

Status ResCnnStack::Load(TorchParams* p, const std::string& prefix) {
  blocks.assign(kResCnnKernels.size(), Block{});
  for (size_t i = 0; i < kResCnnKernels.size(); ++i) {
    const std::string pre = Index(prefix, "members", i);
    Block& b = blocks[i];
    b.kernel = kResCnnKernels[i];
    RAPID_RETURN_IF_ERROR(b.norm1.Load(p, pre + ".norm1", kResCnnFilters, kBatchNormEps));
    RAPID_RETURN_IF_ERROR(b.conv1.Load(p, pre + ".conv1", kResCnnFilters, kResCnnFilters, b.kernel));
    RAPID_RETURN_IF_ERROR(b.norm2.Load(p, pre + ".norm2", kResCnnFilters, kBatchNormEps));
    RAPID_RETURN_IF_ERROR(b.conv2.Load(p, pre + ".conv2", kResCnnFilters, kResCnnFilters, b.kernel));
  }
  return Status::OK();
}

at::Tensor ResCnnStack::operator()(at::Tensor x) const {
  for (const Block& b : blocks) {
    // Kernel 3: one zero each side. Kernel 2: one zero at the end only (TensorFlow "same").
    const bool pad_end = b.kernel == 2;
    const int64_t pad = pad_end ? 0 : 1;
    at::Tensor y = b.norm1(x).relu_();
    if (pad_end) y = at::constant_pad_nd(y, {0, 1}, 0);
    y = b.norm2(b.conv1(y, pad)).relu_();
    if (pad_end) y = at::constant_pad_nd(y, {0, 1}, 0);
    x = x + b.conv2(y, pad);
  }
  return x;
}

Status BiLstmStack::Load(TorchParams* p, const std::string& prefix, int blocks_count, LstmKeys keys,
                         GateActivation gate) {
  blocks.assign(static_cast<size_t>(blocks_count), Block{});
  for (size_t i = 0; i < blocks.size(); ++i) {
    const std::string pre = Index(prefix, "members", i);
    const int64_t in = i == 0 ? kFilters.back() : kLstmHidden;
    RAPID_RETURN_IF_ERROR(blocks[i].lstm.Load(p, pre + ".lstm", keys, in, kLstmHidden, /*bidirectional=*/true, gate));
    RAPID_RETURN_IF_ERROR(blocks[i].conv.Load(p, pre + ".conv", kLstmHidden, 2 * kLstmHidden, 1));
    RAPID_RETURN_IF_ERROR(blocks[i].norm.Load(p, pre + ".norm", kLstmHidden, kBatchNormEps));
  }
  return Status::OK();
}

at::Tensor BiLstmStack::operator()(at::Tensor x) const {
  for (const Block& b : blocks) x = b.norm(b.conv(b.lstm(x), 0));
  return x;
}

Status Decoder::Load(TorchParams* p, const std::string& prefix, int64_t out_samples, bool original_compatible) {
  const size_t stages = kFilters.size();
  if (original_compatible && out_samples != kOriginalInSamples) {
    return Status::InvalidArgument("original-compatible EQTransformer needs " + std::to_string(kOriginalInSamples) +
                                   " input samples, not " + std::to_string(out_samples));
  }
  crop_last.assign(stages, false);
  crop_both_stage = original_compatible ? kOriginalCropStage : -1;
  if (!original_compatible) {
    // The encoder rounded an odd length up at its stage i; decoder stage (stages − 1 − i) undoes it.
    int64_t samples = out_samples;
    for (size_t i = 0; i < stages; ++i) {
      if (samples % 2 == 1) crop_last[stages - 1 - i] = true;
      samples = (samples + 1) / 2;
    }
  }
  convs.assign(stages, Conv{});
  int64_t in = kLstmHidden;
  for (size_t i = 0; i < stages; ++i) {
    const int64_t out = kFilters[stages - 1 - i];
    RAPID_RETURN_IF_ERROR(convs[i].Load(p, Index(prefix, "convs", i), out, in, kKernels[stages - 1 - i]));
    in = out;
  }
  return Status::OK();
}

at::Tensor Decoder::operator()(at::Tensor x) const {
  const size_t stages = convs.size();
  for (size_t i = 0; i < stages; ++i) {
    const int64_t upsampled = 2 * x.size(2);
    x = at::upsample_nearest1d(x, at::IntArrayRef(&upsampled, 1), 2.0);
    if (static_cast<int64_t>(i) == crop_both_stage) x = x.narrow(2, 1, x.size(2) - 2);
    else if (crop_last[i]) x = x.narrow(2, 0, x.size(2) - 1);
    x = convs[i](x, kKernels[stages - 1 - i] / 2).relu_();
  }
  return x;
}

}  // namespace rapid::eqt
