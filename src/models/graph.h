// The model graph: a model's layers described once, as data, for every backend to run (the
// backend boundary, in the style of ggml's graphs). A model file builds its Graph from the weight
// file (models/phasenet.cc); a backend compiles it into a Model (backends/onednn, backends/torch).
//
// Values are one window's activations, channels × length (float32), or channels × length × width
// for the 2-D part of a model (CRED's spectrogram: time × frequency); the batch is the backend's
// business. Element-wise ops (batch norm, ReLU, GELU, add) take either; the others take 1-D values
// (width 1) unless they say otherwise. Node ids are indices into Nodes(), in an order where every input precedes its use.
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
  kMaxPool,          // the maximum of each `kernel` samples, every `stride` samples; pad_right samples
                     // past the end count as −∞ (TensorFlow's "same" pooling of an odd length)
  kScaleByPeak,      // x / (max |x| over the whole value + eps)
  kConstant,         // a fixed value: weight, channels × length (EQCCT's position embedding)
  kAdd,              // the sum of two values of one shape
  kGelu,             // x·Φ(x), the exact (erf) form
  kLayerNorm,        // per sample, over channels: (x − mean) / sqrt(var + eps) · weight + bias
                     // (biased variance; weight and bias per channel)
  kUpsample,         // nearest: each sample repeated `stride` times
  kToPatches,        // C × L → C·k × L/k with k = kernel: out[s·C + c][p] = in[c][p·k + s]
  kFromPatches,      // the inverse, C × L → C/k × L·k: out[c][p·k + s] = in[s·C/k + c][p]
  kLstm,             // one-layer LSTM recurrence over precomputed input projections (see Lstm())
  kAdditiveAttention,  // SeisBench's SeqSelfAttention after its projections (see AdditiveAttention())
  kDotAttention,     // multi-head scaled dot-product self-attention (see DotAttention())
  kSpectrogram,      // scale·|STFT|: C × L → C × frames × (kernel/2 + 1) (see Spectrogram())
  kConv2d,           // 2-D convolution over length × width: weight out × in × k × k (+ bias);
                     // `stride` and zero padding pad_left (each side) on both axes
  kFlattenWidth,     // C × L × W → W·C × L: out[w·C + c][t] = in[c][t][w]
};

// The gates' non-linearity of an LSTM: the logistic function (torch), or Keras' hard sigmoid
// clamp(0.2·x + 0.5, 0, 1) of EQTransformer's conservative original weights.
enum class GateActivation { kSigmoid, kHardSigmoid };

// How the output node's scores become probabilities.
enum class OutputActivation {
  kSoftmaxOverLabels,  // the labels of one sample sum to 1
  kSigmoid,            // each label on its own
};

struct GraphNode {
  OpKind op = OpKind::kInput;
  std::vector<int> inputs;
  int64_t channels = 0, length = 0;  // the output's shape
  int64_t width = 1;                 // the output's second axis (2-D values), else 1
  int64_t stride = 1, pad_left = 0, pad_right = 0, offset = 0;
  int64_t kernel = 0;                // kMaxPool, kToPatches, kFromPatches, kSpectrogram (n_fft),
                                     // kAdditiveAttention (band width, 0 = none)
  int64_t heads = 0;                 // kDotAttention
  double eps = 0;                    // kBatchNorm, kScaleByPeak, kLayerNorm, kAdditiveAttention
  double scale = 1;                  // kDotAttention (of the scores), kSpectrogram
  GateActivation gate = GateActivation::kSigmoid;  // kLstm
  WeightTensor weight, bias;         // conv: weight and (maybe empty) bias; batch and layer norm: γ
                                     // and β; kLstm: the recurrent weights; kAdditiveAttention: Wa, ba
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
  int MaxPool(int x, int64_t kernel, int64_t stride, int64_t pad_right = 0);
  int ScaleByPeak(int x, double eps);
  // A value that does not depend on the window; weight: channels × length.
  int Constant(WeightTensor value);
  int Add(int a, int b);
  int Gelu(int x);
  // gamma, beta: (channels).
  int LayerNorm(int x, WeightTensor gamma, WeightTensor beta, double eps);
  int Upsample(int x, int64_t factor);
  int ToPatches(int x, int64_t patch);
  int FromPatches(int x, int64_t patch);
  // The recurrence of a one-layer LSTM, zero initial state, gates in torch's order (input, forget,
  // cell, output), cell and output non-linearity tanh. `gates` holds, per direction d (forward
  // first, then the reverse one when bidirectional) and time step, the input projection W_ih·x_t
  // + b_ih + b_hh: channels d·4H + j (a 1×1 Conv1d computes it for all steps). recurrent: W_hh,
  // directions × 4H × H. Output: directions·H × length, channel d·H + j the hidden state.
  int Lstm(int gates, WeightTensor recurrent, GateActivation gate);
  // SeisBench's SeqSelfAttention with its projections done by 1×1 convolutions: query = Wt·x + bh
  // and key = Wx·x (units × L each), value = x (C × L). Scores e[t][s] = Wa·tanh(query_t + key_s)
  // + ba; a[t][s] = exp(e[t][s] − max_s e[t][s]), zeroed outside the band t − band/2 ≤ s <
  // t − band/2 + band when band > 0, divided by (Σ_s a[t][s] + eps); out[c][t] = Σ_s a[t][s]·x[c][s].
  // wa: (units); ba: (1).
  int AdditiveAttention(int query, int key, int value, WeightTensor wa, WeightTensor ba, int64_t band, double eps);
  // Keras' MultiHeadAttention core over projected q, k, v (heads·d × L each, channel h·d + j for
  // head h): out[h·d + j][t] = Σ_s softmax_s(scale · Σ_i q[h·d + i][t]·k[h·d + i][s]) · v[h·d + j][s].
  int DotAttention(int q, int k, int v, int64_t heads, double scale);
  // torch.stft(n_fft, hop, window = periodic Hann of n_fft, center with zero padding of n_fft/2
  // each side, onesided), magnitude times `scale`: C × L → C × (L/hop + 1) frames × (n_fft/2 + 1).
  // n_fft even.
  int Spectrogram(int x, int64_t n_fft, int64_t hop, double scale);
  // weight: out × in × k × k; bias may be empty.
  int Conv2d(int x, WeightTensor weight, WeightTensor bias, int64_t stride, int64_t pad);
  int FlattenWidth(int x);
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
  int Append(GraphNode node);
  // A node of `op` over `inputs` shaped like node `like`.
  GraphNode Like(OpKind op, std::vector<int> inputs, int like) const;
  bool Check(bool ok, const std::string& what);
  bool Valid(int x) const;
  bool OneDimensional(int x) const;  // valid and of width 1

  std::vector<GraphNode> nodes_;
  int output_ = -1;
  OutputActivation activation_ = OutputActivation::kSoftmaxOverLabels;
  Status status_;
};

}  // namespace rapid
