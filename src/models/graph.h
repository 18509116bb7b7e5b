// The model graph: a model's layers described once, as data, for every backend to run (the
// backend boundary, in the style of ggml's graphs). A model file builds its Graph from the weight
// file (models/phasenet.cc); a backend compiles it into a Model (backends/onednn, backends/torch).
//
// Values are one window's activations, channels × length (float32); the batch is the backend's
// business. Node ids are indices into Nodes(), in an order where every input precedes its use.
// Weights are held in PyTorch's layouts (Conv1d: out × in × kernel; ConvTranspose1d: in × out ×
// kernel) so SeisBench's tensors drop in unchanged.
// Thread safety: build on one thread; a finished Graph is immutable and may be shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace rapid {

// A dense float32 tensor with its shape (row-major).
struct WeightTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
  bool empty() const { return values.empty(); }
};

enum class OpKind {
  kInput,            // the normalised window: Channels × in_samples
  kConv1d,           // weight (+ bias); stride; zero padding pad_left / pad_right
  kConvTranspose1d,  // weight (+ bias); stride; output cropped by pad_left at the start and
                     // pad_right at the end (PyTorch's padding, minus output_padding at the end)
  kBatchNorm,        // inference batch norm: weight, bias, mean, var, eps
  kRelu,
  kCrop,             // samples [offset, offset + length) of the input
  kConcat,           // the inputs stacked along channels, in input order
  kMaxPool,          // the maximum of each `kernel` samples, every `stride` samples (no padding)
  kScaleByPeak,      // x / (max |x| over the whole value + eps)
};

// How the output node's scores become probabilities.
enum class OutputActivation {
  kSoftmaxOverLabels,  // the labels of one sample sum to 1
  kSigmoid,            // each label on its own
};

struct GraphNode {
  OpKind op = OpKind::kInput;
  std::vector<int> inputs;
  int64_t channels = 0, length = 0;  // the output's shape
  int64_t stride = 1, pad_left = 0, pad_right = 0, offset = 0;
  int64_t kernel = 0;                // kMaxPool
  double eps = 0;                    // kBatchNorm, kScaleByPeak
  WeightTensor weight, bias;         // conv: weight and (maybe empty) bias; batch norm: γ and β
  WeightTensor mean, var;            // kBatchNorm running statistics
};

class Graph {
 public:
  // Each builder returns the new node's id. They check shapes and record the first error, which
  // status() then returns (later calls return -1 and add nothing), so a model's description reads
  // as straight-line code with one check at its end.
  int Input(int64_t channels, int64_t length);
  // bias may be empty; weight: out × in × kernel.
  int Conv1d(int x, WeightTensor weight, WeightTensor bias, int64_t stride, int64_t pad_left, int64_t pad_right);
  // weight: in × out × kernel; output length (L−1)·stride + kernel − pad_left − pad_right.
  int ConvTranspose1d(int x, WeightTensor weight, WeightTensor bias, int64_t stride, int64_t pad_left,
                      int64_t pad_right);
  int BatchNorm(int x, WeightTensor gamma, WeightTensor beta, WeightTensor mean, WeightTensor var, double eps);
  int Relu(int x);
  int Crop(int x, int64_t offset, int64_t length);
  int Concat(const std::vector<int>& parts);
  int MaxPool(int x, int64_t kernel, int64_t stride);
  int ScaleByPeak(int x, double eps);
  // Marks `x` as the model's scores (Labels × OutSamples) and how they become probabilities.
  void SetOutput(int x, OutputActivation activation);

  Status status() const { return status_; }
  const std::vector<GraphNode>& Nodes() const { return nodes_; }
  const GraphNode& Node(int id) const { return nodes_[static_cast<size_t>(id)]; }
  int OutputId() const { return output_; }
  OutputActivation Activation() const { return activation_; }
  // Bytes of all weights held.
  int64_t WeightBytes() const;
  // Ids of the nodes that read node `id`.
  std::vector<int> Consumers(int id) const;

 private:
  int Add(GraphNode node);
  bool Check(bool ok, const std::string& what);
  bool Valid(int x) const;

  std::vector<GraphNode> nodes_;
  int output_ = -1;
  OutputActivation activation_ = OutputActivation::kSoftmaxOverLabels;
  Status status_;
};

}  // namespace rapid
