#include "backends/torch/torch_graph_ops.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace rapid {

namespace {

at::Tensor ToTensor(const WeightTensor& w, const at::Device& device) {
  if (w.empty()) return {};
  return at::from_blob(const_cast<float*>(w.values.data()), w.shape, at::kFloat).to(device, /*non_blocking=*/false,
                                                                                     /*copy=*/true);
}

// The LSTM recurrence over gates (batch, directions·4H, time): the shared loop on the CPU.
at::Tensor Lstm(const GraphNode& n, const at::Tensor& gates, const NodeTensors& t) {
  if (!gates.device().is_cpu()) return LstmTensorSteps(n, gates, t.weight);
  const int64_t batch = gates.size(0), steps = gates.size(2);
  const int64_t directions = n.weight.shape[0], h = n.weight.shape[2];
  const at::Tensor rows = gates.transpose(1, 2).contiguous();  // (batch, time, directions·4H)
  at::Tensor out = at::empty({batch, steps, directions * h}, gates.options());
  for (int64_t b = 0; b < batch; ++b) {
    t.lstm->Run(rows[b].data_ptr<float>(), directions * 4 * h, steps, out[b].data_ptr<float>(), directions * h);
  }
  return out.transpose(1, 2);
}

at::Tensor AdditiveAttention(const GraphNode& n, const at::Tensor& query, const at::Tensor& key,
                             const at::Tensor& value, const NodeTensors& t) {
  // hidden (batch, time t, time s, units) = tanh(query_t + key_s)
  const at::Tensor hidden = at::tanh(query.transpose(1, 2).unsqueeze(2) + key.transpose(1, 2).unsqueeze(1));
  at::Tensor e = at::matmul(hidden, t.weight) + t.bias;  // (batch, t, s)
  e = at::exp(e - std::get<0>(e.max(-1, /*keepdim=*/true)));
  if (n.kernel > 0) {
    const at::Tensor i = at::arange(n.length, value.options().dtype(at::kLong));
    const at::Tensor lower = (i - n.kernel / 2).unsqueeze(1);  // per row t
    const at::Tensor s = i.unsqueeze(0);
    e = e * at::logical_and(lower <= s, s < lower + n.kernel).to(e.scalar_type());
  }
  const at::Tensor a = e / (e.sum(-1, /*keepdim=*/true) + n.eps);
  return at::matmul(a, value.transpose(1, 2)).transpose(1, 2);
}

at::Tensor DotAttention(const GraphNode& n, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const int64_t batch = q.size(0), length = q.size(2), d = n.channels / n.heads;
  auto heads = [&](const at::Tensor& x) { return x.reshape({batch, n.heads, d, length}).transpose(2, 3); };
  const at::Tensor scores = at::matmul(heads(q), heads(k).transpose(-2, -1)) * n.scale;  // (batch, heads, t, s)
  const at::Tensor context = at::matmul(at::softmax(scores, -1), heads(v));            // (batch, heads, t, d)
  return context.transpose(2, 3).reshape({batch, n.channels, length});
}

at::Tensor Spectrogram(const GraphNode& n, const at::Tensor& x) {
  const int64_t batch = x.size(0), channels = x.size(1);
  const at::Tensor hann = at::hann_window(n.kernel, /*periodic=*/true, x.options());
  const at::Tensor z = at::stft(x.reshape({batch * channels, x.size(2)}), n.kernel, n.stride, n.kernel, hann,
                                /*center=*/true, "constant", /*normalized=*/false, /*onesided=*/true,
                                /*return_complex=*/true);  // (batch·channels, frequencies, frames)
  return at::abs(z * n.scale).reshape({batch, channels, n.width, n.length}).transpose(2, 3);
}

at::Tensor LayerNorm(const GraphNode& n, const at::Tensor& x, const NodeTensors& t) {
  const at::Tensor centred = x - x.mean(1, /*keepdim=*/true);
  const at::Tensor var = (centred * centred).mean(1, /*keepdim=*/true) + n.eps;
  return centred / at::sqrt(var) * t.weight.view({1, -1, 1}) + t.bias.view({1, -1, 1});
}

}  // namespace

at::Tensor LstmTensorSteps(const GraphNode& n, const at::Tensor& gates, const at::Tensor& recurrent) {
  const int64_t batch = gates.size(0), steps = gates.size(2);
  const int64_t directions = n.weight.shape[0], h = n.weight.shape[2];
  const at::Tensor rows = gates.transpose(1, 2);  // (batch, time, directions·4H)
  auto activate = [&](const at::Tensor& v) {
    return n.gate == GateActivation::kHardSigmoid ? at::clamp(v * 0.2 + 0.5, 0.0, 1.0) : at::sigmoid(v);
  };
  std::vector<at::Tensor> outputs;
  for (int64_t d = 0; d < directions; ++d) {
    const at::Tensor pre = rows.narrow(2, d * 4 * h, 4 * h);
    const at::Tensor w_hh_t = recurrent[d].t();
    at::Tensor hs = at::zeros({batch, h}, gates.options()), cs = at::zeros({batch, h}, gates.options());
    std::vector<at::Tensor> out(static_cast<size_t>(steps));
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t step = d == 0 ? s : steps - 1 - s;
      const auto g = at::addmm(pre.select(1, step), hs, w_hh_t).chunk(4, 1);
      cs = activate(g[1]) * cs + activate(g[0]) * at::tanh(g[2]);
      hs = activate(g[3]) * at::tanh(cs);
      out[static_cast<size_t>(step)] = hs;
    }
    outputs.push_back(at::stack(out, 2));  // (batch, H, time)
  }
  return at::cat(outputs, 1);
}

NodeTensors PrepareNode(const GraphNode& n, const at::Device& device) {
  NodeTensors t{ToTensor(n.weight, device), ToTensor(n.bias, device), ToTensor(n.mean, device),
                ToTensor(n.var, device), nullptr};
  if (n.op == OpKind::kLstm && device.is_cpu()) t.lstm = std::make_shared<LstmRecurrence>(n.weight, n.gate);
  return t;
}

at::Tensor RunNode(const GraphNode& n, const std::vector<const at::Tensor*>& in, const NodeTensors& t,
                   const at::Tensor& window) {
  auto x = [&](size_t k) -> const at::Tensor& { return *in[k]; };
  const int64_t batch = window.size(0);
  switch (n.op) {
    case OpKind::kInput: return window;
    case OpKind::kConv1d:
      return n.pad_left == n.pad_right
                 ? at::conv1d(x(0), t.weight, t.bias, n.stride, n.pad_left)
                 : at::conv1d(at::constant_pad_nd(x(0), {n.pad_left, n.pad_right}, 0), t.weight, t.bias, n.stride);
    case OpKind::kConvTranspose1d:
      return at::conv_transpose1d(x(0), t.weight, t.bias, n.stride, 0, std::max<int64_t>(0, -n.pad_right))
          .narrow(2, n.pad_left, n.length);
    case OpKind::kConv2d: return at::conv2d(x(0), t.weight, t.bias, {n.stride, n.stride}, {n.pad_left, n.pad_left});
    case OpKind::kBatchNorm:
      return at::batch_norm(x(0), t.weight, t.bias, t.mean, t.var, /*training=*/false, 0.0, n.eps, false);
    case OpKind::kRelu: return at::relu(x(0));
    case OpKind::kGelu: return at::gelu(x(0));
    case OpKind::kAdd: return x(0) + x(1);
    case OpKind::kCrop: return x(0).narrow(2, n.offset, n.length);
    case OpKind::kMaxPool: {
      const at::Tensor padded = n.pad_right == 0 ? x(0)
                                                 : at::constant_pad_nd(x(0), {0, n.pad_right},
                                                                       -std::numeric_limits<double>::infinity());
      return at::max_pool1d(padded, {n.kernel}, {n.stride});
    }
    case OpKind::kScaleByPeak: return x(0) / (at::amax(at::abs(x(0)), {1, 2}, /*keepdim=*/true) + n.eps);
    case OpKind::kConcat: {
      std::vector<at::Tensor> parts;
      for (const at::Tensor* p : in) parts.push_back(*p);
      return at::cat(parts, 1);
    }
    case OpKind::kConstant: return t.weight.unsqueeze(0).expand({batch, n.channels, n.length});
    case OpKind::kLayerNorm: return LayerNorm(n, x(0), t);
    case OpKind::kUpsample: return at::repeat_interleave(x(0), n.stride, 2);
    case OpKind::kToPatches:
      return x(0).reshape({batch, x(0).size(1), n.length, n.kernel}).permute({0, 3, 1, 2}).reshape(
          {batch, n.channels, n.length});
    case OpKind::kFromPatches:
      return x(0).reshape({batch, n.kernel, n.channels, x(0).size(2)}).permute({0, 2, 3, 1}).reshape(
          {batch, n.channels, n.length});
    case OpKind::kFlattenWidth: return x(0).permute({0, 3, 1, 2}).reshape({batch, n.channels, n.length});
    case OpKind::kLstm: return Lstm(n, x(0), t);
    case OpKind::kAdditiveAttention: return AdditiveAttention(n, x(0), x(1), x(2), t);
    case OpKind::kDotAttention: return DotAttention(n, x(0), x(1), x(2));
    case OpKind::kSpectrogram: return Spectrogram(n, x(0));
  }
  return {};
}

}  // namespace rapid
