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

int Graph::Add(GraphNode node) {
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size()) - 1;
}

int Graph::Input(int64_t channels, int64_t length) {
  if (!Check(nodes_.empty() && channels > 0 && length > 0, "the input must come first, non-empty")) return -1;
  GraphNode n;
  n.channels = channels;
  n.length = length;
  return Add(std::move(n));
}

int Graph::Conv1d(int x, WeightTensor weight, WeightTensor bias, int64_t stride, int64_t pad_left,
                  int64_t pad_right) {
  if (!Check(Valid(x) && weight.shape.size() == 3 && Dim(weight, 1) == Node(x).channels,
             "convolution weight does not fit its input's channels")) {
    return -1;
  }
  const int64_t out_channels = Dim(weight, 0), kernel = Dim(weight, 2);
  const int64_t padded = Node(x).length + pad_left + pad_right;
  if (!Check(stride >= 1 && pad_left >= 0 && pad_right >= 0 && padded >= kernel, "bad convolution geometry") ||
      !Check(bias.empty() || bias.shape == std::vector<int64_t>{out_channels}, "convolution bias size")) {
    return -1;
  }
  return Add(ConvNode(OpKind::kConv1d, x, out_channels, (padded - kernel) / stride + 1, std::move(weight),
                      std::move(bias), stride, pad_left, pad_right));
}

int Graph::ConvTranspose1d(int x, WeightTensor weight, WeightTensor bias, int64_t stride, int64_t pad_left,
                           int64_t pad_right) {
  if (!Check(Valid(x) && weight.shape.size() == 3 && Dim(weight, 0) == Node(x).channels,
             "transposed convolution weight does not fit its input's channels")) {
    return -1;
  }
  const int64_t out_channels = Dim(weight, 1), kernel = Dim(weight, 2);
  const int64_t length = (Node(x).length - 1) * stride + kernel - pad_left - pad_right;
  if (!Check(stride >= 1 && pad_left >= 0 && pad_right > -stride && length > 0, "bad transposed geometry") ||
      !Check(bias.empty() || bias.shape == std::vector<int64_t>{out_channels}, "transposed convolution bias size")) {
    return -1;
  }
  return Add(ConvNode(OpKind::kConvTranspose1d, x, out_channels, length, std::move(weight), std::move(bias), stride,
                      pad_left, pad_right));
}

int Graph::BatchNorm(int x, WeightTensor gamma, WeightTensor beta, WeightTensor mean, WeightTensor var, double eps) {
  if (!Valid(x)) return Check(false, "batch norm of an unknown node"), -1;
  const std::vector<int64_t> c = {Node(x).channels};
  if (!Check(gamma.shape == c && beta.shape == c && mean.shape == c && var.shape == c, "batch norm sizes")) return -1;
  GraphNode n;
  n.op = OpKind::kBatchNorm;
  n.inputs = {x};
  n.channels = Node(x).channels;
  n.length = Node(x).length;
  n.eps = eps;
  n.weight = std::move(gamma);
  n.bias = std::move(beta);
  n.mean = std::move(mean);
  n.var = std::move(var);
  return Add(std::move(n));
}

int Graph::Relu(int x) {
  if (!Check(Valid(x), "relu of an unknown node")) return -1;
  GraphNode n;
  n.op = OpKind::kRelu;
  n.inputs = {x};
  n.channels = Node(x).channels;
  n.length = Node(x).length;
  return Add(std::move(n));
}

int Graph::Crop(int x, int64_t offset, int64_t length) {
  if (!Check(Valid(x) && offset >= 0 && length > 0 && offset + length <= Node(x).length, "crop outside its input")) {
    return -1;
  }
  GraphNode n;
  n.op = OpKind::kCrop;
  n.inputs = {x};
  n.channels = Node(x).channels;
  n.length = length;
  n.offset = offset;
  return Add(std::move(n));
}

int Graph::Concat(const std::vector<int>& parts) {
  if (!Check(parts.size() >= 2, "concatenation of fewer than two nodes")) return -1;
  GraphNode n;
  n.op = OpKind::kConcat;
  n.inputs = parts;
  for (int p : parts) {
    if (!Check(Valid(p) && Node(p).length == Node(parts[0]).length, "concatenated lengths differ")) return -1;
    n.channels += Node(p).channels;
  }
  n.length = Node(parts[0]).length;
  return Add(std::move(n));
}

int Graph::MaxPool(int x, int64_t kernel, int64_t stride) {
  if (!Check(Valid(x) && kernel >= 1 && stride >= 1 && Node(x).length >= kernel, "bad max-pool geometry")) return -1;
  GraphNode n;
  n.op = OpKind::kMaxPool;
  n.inputs = {x};
  n.channels = Node(x).channels;
  n.length = (Node(x).length - kernel) / stride + 1;
  n.kernel = kernel;
  n.stride = stride;
  return Add(std::move(n));
}

int Graph::ScaleByPeak(int x, double eps) {
  if (!Check(Valid(x), "peak scaling of an unknown node")) return -1;
  GraphNode n;
  n.op = OpKind::kScaleByPeak;
  n.inputs = {x};
  n.channels = Node(x).channels;
  n.length = Node(x).length;
  n.eps = eps;
  return Add(std::move(n));
}

void Graph::SetOutput(int x, OutputActivation activation) {
  if (!Check(Valid(x), "output is an unknown node")) return;
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
