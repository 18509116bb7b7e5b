#include "models/graph.h"

#include <utility>

namespace rapid {

namespace {
int64_t Dim(const WeightTensor& t, size_t i) { return i < t.shape.size() ? t.shape[i] : -1; }

// A (transposed) convolution node reading x and giving `channels` × `length`.
GraphNode ConvNode(OpKind op, int x, int64_t channels, int64_t length, WeightTensor weight, WeightTensor bias,
                   int64_t stride, int64_t pad_left, int64_t pad_right) {
  GraphNode n;
  n.op = op;
  n.inputs = {x};
  n.channels = channels;
  n.length = length;
  n.stride = stride;
  n.pad_left = pad_left;
  n.pad_right = pad_right;
  n.weight = std::move(weight);
  n.bias = std::move(bias);
  return n;
}
}  // namespace

bool Graph::Check(bool ok, const std::string& what) {
  if (!ok && status_.ok()) {
    status_ = Status::InvalidArgument("model graph node " + std::to_string(nodes_.size()) + ": " + what);
  }
  return ok && status_.ok();
}

bool Graph::Valid(int x) const { return x >= 0 && x < static_cast<int>(nodes_.size()); }

bool Graph::OneDimensional(int x) const { return Valid(x) && Node(x).width == 1; }

GraphNode Graph::Like(OpKind op, std::vector<int> inputs, int like) const {
  GraphNode n;
  n.op = op;
  n.inputs = std::move(inputs);
  n.channels = Node(like).channels;
  n.length = Node(like).length;
  n.width = Node(like).width;
  return n;
}

int Graph::Append(GraphNode node) {
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size()) - 1;
}

int Graph::Input(int64_t channels, int64_t length) {
  if (!Check(nodes_.empty() && channels > 0 && length > 0, "the input must come first, non-empty")) return -1;
  GraphNode n;
  n.channels = channels;
  n.length = length;
  return Append(std::move(n));
}

int Graph::Conv1d(int x, WeightTensor weight, WeightTensor bias, int64_t stride, int64_t pad_left,
                  int64_t pad_right) {
  if (!Check(OneDimensional(x) && weight.shape.size() == 3 && Dim(weight, 1) == Node(x).channels,
             "convolution weight does not fit its input's channels")) {
    return -1;
  }
  const int64_t out_channels = Dim(weight, 0), kernel = Dim(weight, 2);
  const int64_t padded = Node(x).length + pad_left + pad_right;
  if (!Check(stride >= 1 && pad_left >= 0 && pad_right >= 0 && padded >= kernel, "bad convolution geometry") ||
      !Check(bias.empty() || bias.shape == std::vector<int64_t>{out_channels}, "convolution bias size")) {
    return -1;
  }
  return Append(ConvNode(OpKind::kConv1d, x, out_channels, (padded - kernel) / stride + 1, std::move(weight),
                      std::move(bias), stride, pad_left, pad_right));
}

int Graph::ConvTranspose1d(int x, WeightTensor weight, WeightTensor bias, int64_t stride, int64_t pad_left,
                           int64_t pad_right) {
  if (!Check(OneDimensional(x) && weight.shape.size() == 3 && Dim(weight, 0) == Node(x).channels,
             "transposed convolution weight does not fit its input's channels")) {
    return -1;
  }
  const int64_t out_channels = Dim(weight, 1), kernel = Dim(weight, 2);
  const int64_t length = (Node(x).length - 1) * stride + kernel - pad_left - pad_right;
  if (!Check(stride >= 1 && pad_left >= 0 && pad_right > -stride && length > 0, "bad transposed geometry") ||
      !Check(bias.empty() || bias.shape == std::vector<int64_t>{out_channels}, "transposed convolution bias size")) {
    return -1;
  }
  return Append(ConvNode(OpKind::kConvTranspose1d, x, out_channels, length, std::move(weight), std::move(bias), stride,
                      pad_left, pad_right));
}

int Graph::BatchNorm(int x, WeightTensor gamma, WeightTensor beta, WeightTensor mean, WeightTensor var, double eps) {
  if (!Valid(x)) return Check(false, "batch norm of an unknown node"), -1;
  const std::vector<int64_t> c = {Node(x).channels};
  if (!Check(gamma.shape == c && beta.shape == c && mean.shape == c && var.shape == c, "batch norm sizes")) return -1;
  GraphNode n = Like(OpKind::kBatchNorm, {x}, x);
  n.eps = eps;
  n.weight = std::move(gamma);
  n.bias = std::move(beta);
  n.mean = std::move(mean);
  n.var = std::move(var);
  return Append(std::move(n));
}

int Graph::Relu(int x) {
  if (!Check(Valid(x), "relu of an unknown node")) return -1;
  return Append(Like(OpKind::kRelu, {x}, x));
}

int Graph::Crop(int x, int64_t offset, int64_t length) {
  if (!Check(OneDimensional(x) && offset >= 0 && length > 0 && offset + length <= Node(x).length, "crop outside its input")) {
    return -1;
  }
  GraphNode n;
  n.op = OpKind::kCrop;
  n.inputs = {x};
  n.channels = Node(x).channels;
  n.length = length;
  n.offset = offset;
  return Append(std::move(n));
}

int Graph::Concat(const std::vector<int>& parts) {
  if (!Check(parts.size() >= 2, "concatenation of fewer than two nodes")) return -1;
  GraphNode n;
  n.op = OpKind::kConcat;
  n.inputs = parts;
  for (int p : parts) {
    if (!Check(OneDimensional(p) && Node(p).length == Node(parts[0]).length, "concatenated lengths differ")) {
      return -1;
    }
    n.channels += Node(p).channels;
  }
  n.length = Node(parts[0]).length;
  return Append(std::move(n));
}

int Graph::MaxPool(int x, int64_t kernel, int64_t stride, int64_t pad_right) {
  if (!Check(OneDimensional(x) && kernel >= 1 && stride >= 1 && pad_right >= 0 && pad_right < kernel &&
                 Node(x).length >= kernel,
             "bad max-pool geometry")) {
    return -1;
  }
  GraphNode n = Like(OpKind::kMaxPool, {x}, x);
  n.length = (Node(x).length + pad_right - kernel) / stride + 1;
  n.kernel = kernel;
  n.stride = stride;
  n.pad_right = pad_right;
  return Append(std::move(n));
}

int Graph::ScaleByPeak(int x, double eps) {
  if (!Check(OneDimensional(x), "peak scaling of an unknown or 2-D node")) return -1;
  GraphNode n = Like(OpKind::kScaleByPeak, {x}, x);
  n.eps = eps;
  return Append(std::move(n));
}

int Graph::Constant(WeightTensor value) {
  if (!Check(value.shape.size() == 2 && value.shape[0] > 0 && value.shape[1] > 0 &&
                 static_cast<int64_t>(value.values.size()) == value.shape[0] * value.shape[1],
             "a constant must be channels × length")) {
    return -1;
  }
  GraphNode n;
  n.op = OpKind::kConstant;
  n.channels = value.shape[0];
  n.length = value.shape[1];
  n.weight = std::move(value);
  return Append(std::move(n));
}

int Graph::Add(int a, int b) {
  if (!Check(Valid(a) && Valid(b) && Node(a).channels == Node(b).channels && Node(a).length == Node(b).length &&
                 Node(a).width == Node(b).width,
             "added values differ in shape")) {
    return -1;
  }
  return Append(Like(OpKind::kAdd, {a, b}, a));
}

int Graph::Gelu(int x) {
  if (!Check(Valid(x), "gelu of an unknown node")) return -1;
  return Append(Like(OpKind::kGelu, {x}, x));
}

int Graph::LayerNorm(int x, WeightTensor gamma, WeightTensor beta, double eps) {
  if (!Check(OneDimensional(x), "layer norm of an unknown or 2-D node")) return -1;
  const std::vector<int64_t> c = {Node(x).channels};
  if (!Check(gamma.shape == c && beta.shape == c && eps > 0, "layer norm sizes")) return -1;
  GraphNode n = Like(OpKind::kLayerNorm, {x}, x);
  n.eps = eps;
  n.weight = std::move(gamma);
  n.bias = std::move(beta);
  return Append(std::move(n));
}

int Graph::Upsample(int x, int64_t factor) {
  if (!Check(OneDimensional(x) && factor >= 1, "bad upsampling")) return -1;
  GraphNode n = Like(OpKind::kUpsample, {x}, x);
  n.length *= factor;
  n.stride = factor;
  return Append(std::move(n));
}

int Graph::ToPatches(int x, int64_t patch) {
  if (!Check(OneDimensional(x) && patch >= 1 && Node(x).length % patch == 0, "length not a multiple of the patch")) {
    return -1;
  }
  GraphNode n = Like(OpKind::kToPatches, {x}, x);
  n.channels *= patch;
  n.length /= patch;
  n.kernel = patch;
  return Append(std::move(n));
}

int Graph::FromPatches(int x, int64_t patch) {
  if (!Check(OneDimensional(x) && patch >= 1 && Node(x).channels % patch == 0, "channels not a multiple of the patch")) {
    return -1;
  }
  GraphNode n = Like(OpKind::kFromPatches, {x}, x);
  n.channels /= patch;
  n.length *= patch;
  n.kernel = patch;
  return Append(std::move(n));
}

int Graph::Lstm(int gates, WeightTensor recurrent, GateActivation gate) {
  if (!Check(OneDimensional(gates) && recurrent.shape.size() == 3, "LSTM of an unknown node, or W_hh not 3-D")) {
    return -1;
  }
  const int64_t directions = recurrent.shape[0], hidden = recurrent.shape[2];
  if (!Check((directions == 1 || directions == 2) && hidden > 0 && recurrent.shape[1] == 4 * hidden &&
                 Node(gates).channels == directions * 4 * hidden,
             "LSTM gates do not fit W_hh (directions × 4·hidden × hidden)")) {
    return -1;
  }
  GraphNode n = Like(OpKind::kLstm, {gates}, gates);
  n.channels = directions * hidden;
  n.gate = gate;
  n.weight = std::move(recurrent);
  return Append(std::move(n));
}

int Graph::AdditiveAttention(int query, int key, int value, WeightTensor wa, WeightTensor ba, int64_t band,
                             double eps) {
  if (!Check(OneDimensional(query) && OneDimensional(key) && OneDimensional(value), "attention of unknown nodes")) {
    return -1;
  }
  const int64_t units = Node(query).channels, length = Node(value).length;
  if (!Check(Node(key).channels == units && Node(query).length == length && Node(key).length == length &&
                 wa.shape == std::vector<int64_t>{units} && ba.shape == std::vector<int64_t>{1} && band >= 0,
             "additive attention shapes")) {
    return -1;
  }
  GraphNode n = Like(OpKind::kAdditiveAttention, {query, key, value}, value);
  n.kernel = band;
  n.eps = eps;
  n.weight = std::move(wa);
  n.bias = std::move(ba);
  return Append(std::move(n));
}

int Graph::DotAttention(int q, int k, int v, int64_t heads, double scale) {
  if (!Check(OneDimensional(q) && OneDimensional(k) && OneDimensional(v), "attention of unknown nodes")) return -1;
  const int64_t channels = Node(q).channels;
  if (!Check(heads >= 1 && channels % heads == 0 && Node(k).channels == channels && Node(v).channels == channels &&
                 Node(k).length == Node(q).length && Node(v).length == Node(q).length,
             "dot-product attention shapes")) {
    return -1;
  }
  GraphNode n = Like(OpKind::kDotAttention, {q, k, v}, v);
  n.heads = heads;
  n.scale = scale;
  return Append(std::move(n));
}

int Graph::Spectrogram(int x, int64_t n_fft, int64_t hop, double scale) {
  // An odd n_fft would give torch.stft (L − 1)/hop + 1 frames, not the L/hop + 1 below.
  if (!Check(OneDimensional(x) && n_fft >= 2 && n_fft % 2 == 0 && hop >= 1 && Node(x).length > n_fft / 2,
             "bad spectrogram geometry (n_fft must be even)")) {
    return -1;
  }
  GraphNode n = Like(OpKind::kSpectrogram, {x}, x);
  n.length = Node(x).length / hop + 1;
  n.width = n_fft / 2 + 1;
  n.kernel = n_fft;
  n.stride = hop;
  n.scale = scale;
  return Append(std::move(n));
}

int Graph::Conv2d(int x, WeightTensor weight, WeightTensor bias, int64_t stride, int64_t pad) {
  if (!Check(Valid(x) && weight.shape.size() == 4 && Dim(weight, 1) == Node(x).channels &&
                 Dim(weight, 2) == Dim(weight, 3),
             "2-D convolution weight does not fit its input's channels (or is not square)")) {
    return -1;
  }
  const int64_t kernel = Dim(weight, 2), out_channels = Dim(weight, 0);
  auto out_size = [&](int64_t in) { return (in + 2 * pad - kernel) / stride + 1; };
  if (!Check(stride >= 1 && pad >= 0 && Node(x).length + 2 * pad >= kernel && Node(x).width + 2 * pad >= kernel,
             "bad 2-D convolution geometry") ||
      !Check(bias.empty() || bias.shape == std::vector<int64_t>{out_channels}, "2-D convolution bias size")) {
    return -1;
  }
  GraphNode n = ConvNode(OpKind::kConv2d, x, out_channels, out_size(Node(x).length), std::move(weight),
                         std::move(bias), stride, pad, pad);
  n.width = out_size(Node(x).width);
  return Append(std::move(n));
}

int Graph::FlattenWidth(int x) {
  if (!Check(Valid(x), "flattening an unknown node")) return -1;
  GraphNode n = Like(OpKind::kFlattenWidth, {x}, x);
  n.channels *= n.width;
  n.width = 1;
  return Append(std::move(n));
}

void Graph::SetOutput(int x, OutputActivation activation) {
  if (!Check(OneDimensional(x), "output is an unknown or 2-D node")) return;
  output_ = x;
  activation_ = activation;
}

int64_t Graph::WeightBytes() const {
  int64_t floats = 0;
  for (const GraphNode& n : nodes_) {
    for (const WeightTensor* t : {&n.weight, &n.bias, &n.mean, &n.var}) {
      floats += static_cast<int64_t>(t->values.size());
    }
  }
  return floats * static_cast<int64_t>(sizeof(float));
}

std::vector<int> Graph::Consumers(int id) const {
  std::vector<int> readers;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (int in : nodes_[i].inputs) {
      if (in == id) readers.push_back(static_cast<int>(i));
    }
  }
  return readers;
}

}  // namespace rapid
