// Building blocks of EQTransformer (Mousavi et al., 2020) as SeisBench defines them. Each block
// loads its parameters under SeisBench's state_dict names (given a key prefix) through
// TorchParams, and runs on float32 tensors on that device, laid out (batch, channels, time), in
// eval mode (dropout is the identity, batch norm uses the running statistics).
// Thread safety: a loaded block is immutable; its call operator may run on several threads.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/strict_params.h"
#include "models/torch_model.h"

namespace rapid::eqt {

// Conv1d with bias; stride 1, no dilation. Keys <prefix>.weight (out, in, kernel), <prefix>.bias.
struct Conv {
  at::Tensor weight, bias;
  Status Load(TorchParams* p, const std::string& prefix, int64_t out, int64_t in, int64_t kernel);
  // Symmetric zero padding of `pad` samples at each end.
  at::Tensor operator()(const at::Tensor& x, int64_t pad) const;
};

// LSTM gate non-linearity: torch's LSTM and the non-conservative original use the logistic
// sigmoid; the conservative original uses Keras' hard sigmoid clamp(0.2·x + 0.5, 0, 1).
enum class GateActivation { kSigmoid, kHardSigmoid };

// How the LSTM's parameters are named: torch.nn.LSTM (`weight_ih_l0`, `…_l0_reverse`) or
// SeisBench's CustomLSTM (`cell_f.weight_ih`, `cell_b.weight_ih`).
enum class LstmKeys { kTorch, kCustomCell };

// One-layer LSTM, forward or bidirectional, zero initial state, gates in torch's order
// (input, forget, cell, output); the cell and output non-linearity is tanh.
// Input (batch, in, time) → output (batch, directions·hidden, time), forward direction first.
// The input projection of all time steps is one matrix product. On the CPU the recurrence is a
// plain loop over preallocated buffers (hidden sizes here are 16–64, too small for a BLAS call per
// step); elsewhere (a CUDA device) it is one batched tensor step per time step.
class Lstm {
 public:
  Status Load(TorchParams* p, const std::string& prefix, LstmKeys keys, int64_t in, int64_t hidden,
              bool bidirectional, GateActivation gate);
  at::Tensor operator()(const at::Tensor& x) const;
  // The recurrence as tensor operations on x's device, what operator() uses off the CPU (public so
  // the CPU tests can compare the two).
  at::Tensor WithTensorSteps(const at::Tensor& x) const;

 private:
  struct Direction {
    at::Tensor w_ih;  // (4·hidden, in)
    at::Tensor w_hh;  // (4·hidden, hidden)
    at::Tensor bias;  // (4·hidden,) = bias_ih + bias_hh
  };
  int64_t hidden_ = 0;
  GateActivation gate_ = GateActivation::kSigmoid;
  std::vector<Direction> directions_;
};

// SeisBench's SeqSelfAttention (additive attention, 32 units): scores e[t, s] = Wa·tanh(Wt·x_t +
// Wx·x_s + bh) + ba, stabilised by the row maximum over all s, exponentiated, restricted to
// |s − t| ≤ width/2 when a width is set (after the maximum, as SeisBench does), and normalised
// by (row sum + eps). Keys <prefix>.{Wx, Wt, bh, Wa, ba}.
struct SeqSelfAttention {
  at::Tensor wx, wt, bh, wa, ba;
  int64_t width = 0;  // 0: every time step attends to all
  double eps = 1e-5;
  Status Load(TorchParams* p, const std::string& prefix, int64_t channels, int64_t width_samples, double eps_value);
  at::Tensor operator()(const at::Tensor& x) const;
};

// SeisBench's LayerNormalization: over channels, eps 1e-14, gamma/beta shaped (channels, 1).
struct LayerNorm {
  at::Tensor gamma, beta;
  Status Load(TorchParams* p, const std::string& prefix, int64_t channels);
  at::Tensor operator()(const at::Tensor& x) const;
};

// Attention, residual, layer norm, position-wise feed-forward (16 → 128 → 16, ReLU), residual,
// layer norm. Keys <prefix>.{attention, norm1, ff.lin1, ff.lin2, norm2}.
struct TransformerBlock {
  SeqSelfAttention attention;
  LayerNorm norm1, norm2;
  at::Tensor lin1_w, lin1_b, lin2_w, lin2_b;
  Status Load(TorchParams* p, const std::string& prefix, int64_t channels, double eps);
  at::Tensor operator()(const at::Tensor& x) const;
};

// Seven (conv "same" + ReLU + max-pool 2) stages; an odd length is padded at the end first
// (TensorFlow's "same" pooling). Keys <prefix>.convs.<i>.
struct Encoder {
  std::vector<Conv> convs;
  Status Load(TorchParams* p, const std::string& prefix, int64_t in_channels);
  at::Tensor operator()(at::Tensor x) const;
};

// Residual blocks (BN, ReLU, conv; BN, ReLU, conv; + input) at 64 channels; kernels 3 or 2, the
// latter padded by one zero at the end (TensorFlow "same"). Keys <prefix>.members.<i>.
struct ResCnnStack {
  struct Block {
    BatchNorm norm1, norm2;
    Conv conv1, conv2;
    int64_t kernel = 3;
  };
  std::vector<Block> blocks;
  Status Load(TorchParams* p, const std::string& prefix);
  at::Tensor operator()(at::Tensor x) const;
};

// Bidirectional LSTM blocks (LSTM, 1×1 conv 32 → 16, batch norm), the first taking the encoder's
// 64 channels. Keys <prefix>.members.<i>.{lstm, conv, norm}.
struct BiLstmStack {
  struct Block {
    Lstm lstm;
    Conv conv;
    BatchNorm norm;
  };
  std::vector<Block> blocks;
  Status Load(TorchParams* p, const std::string& prefix, int blocks_count, LstmKeys keys, GateActivation gate);
  at::Tensor operator()(at::Tensor x) const;
};

// Seven (nearest upsampling × 2, crop, conv "same" + ReLU) stages from 16 channels back to 8 at
// the input length. Crop rule: SeisBench's default drops the last sample after the stages whose
// encoder counterpart padded an odd length; the original-compatible decoder instead drops the first
// and the last sample after stage 3 (only valid for 6000 samples). Keys <prefix>.convs.<i>.
struct Decoder {
  std::vector<Conv> convs;
  std::vector<bool> crop_last;   // per stage
  int64_t crop_both_stage = -1;  // original-compatible: stage whose ends are dropped
  Status Load(TorchParams* p, const std::string& prefix, int64_t out_samples, bool original_compatible);
  at::Tensor operator()(at::Tensor x) const;
};

// Length of the encoder's output for `in_samples` input samples (7 halvings, rounding up).
int64_t EncodedSamples(int64_t in_samples);

}  // namespace rapid::eqt
