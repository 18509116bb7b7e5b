// The oneDNN backend: a Graph compiled once into a fixed sequence of steps over buffers that
// live as long as the model, run one window at a time (batch size barely changes the time per
// window, and a window's activations stay in cache). Activations are channels-last (length ×
// channels; 2-D values length × width × channels, oneDNN's nhwc), so cropping in time is a pointer
// offset and a polyphase convolution's output is the transposed convolution's. Convolutions (1-D
// and 2-D) run as oneDNN primitives with batch norm folded in and ReLU or GELU (and the sum of a
// split concatenation) as post-ops (conv_lowering.h); what oneDNN does slowly or not at all here
// runs as a loop kernel (loop_kernels.h).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "backends/onednn/conv_lowering.h"
#include "backends/onednn/engine.h"
#include "backends/onednn/loop_kernels.h"
#include "backends/onednn/output_head.h"
#include "core/vector_loops.h"

namespace rapid {

namespace {

using onednn::ConvLayer;
using onednn::CpuEngine;
using onednn::LoopKernel;
using onednn::View;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

// A convolution's input or output memory, channels-last: nwc, or for a 2-D convolution nhwc over
// length × width (the layout of a 2-D value, width ignored otherwise).
dnnl::memory::desc ChannelsLast(bool two_d, int64_t channels, int64_t length, int64_t width) {
  if (two_d) return {{1, channels, length, width}, dt::f32, tag::nhwc};
  return {{1, channels, length}, dt::f32, tag::nwc};
}


// out (samples × channels) = x (channels × samples). Three channels (every model's input) have a
// loop of their own: with the count known GCC interleaves them with vector shuffles (0.7 µs for a
// PhaseNet window against 3.3 µs for the general loop, measured).
RAPID_VECTOR_LOOPS void ToChannelsLast(const float* x, int64_t channels, int64_t samples, float* out) {
  if (channels == 3) {
    const float *x0 = x, *x1 = x + samples, *x2 = x + 2 * samples;
    for (int64_t t = 0; t < samples; ++t) {
      out[3 * t] = x0[t];
      out[3 * t + 1] = x1[t];
      out[3 * t + 2] = x2[t];
    }
    return;
  }
  for (int64_t t = 0; t < samples; ++t) {
    for (int64_t c = 0; c < channels; ++c) out[t * channels + c] = x[c * samples + t];
  }
}

// A 1-D convolution's padding taken from the zero rows around its input, on each side where there
// are enough: the convolution then reads that many more rows of src, unpadded there. oneDNN 2.6's
// AVX2 kernel (jit:avx2) refuses most left padding wider than 3 samples, every strided one tried
// (EQCCT's kernel-11 layers, the output-phase form of PhaseNet's 8-channel layers) and GPD's first
// layer's right padding of 10, leaving them to gemm:jit at a third to a half of its speed;
// unpadded, it takes them all.
void PadFromMargin(ConvLayer* layer, View* src) {
  if (layer->two_d) return;
  if (layer->pad_left > 0 && src->zero_rows_before >= layer->pad_left) {
    src->data -= layer->pad_left * src->channels;
    src->length += layer->pad_left;
    src->zero_rows_before -= layer->pad_left;
    layer->pad_left = 0;
  }
  if (layer->pad_right > 0 && src->zero_rows_after >= layer->pad_right) {
    src->length += layer->pad_right;
    src->zero_rows_after -= layer->pad_right;
    layer->pad_right = 0;
  }
}

// OpenMP's thread count on this thread is 1 while it lives.
class OneOpenMpThread {
 public:
  OneOpenMpThread() { omp_set_num_threads(1); }
  ~OneOpenMpThread() { omp_set_num_threads(caller_); }

 private:
  const int caller_ = omp_get_max_threads();
};

class OnednnModel : public Model {
 public:
  OnednnModel(ModelSpec spec, std::shared_ptr<const Graph> graph)
      : spec_(std::move(spec)), graph_(std::move(graph)), stream_(CpuEngine()) {}

  Status Compile();

  const ModelSpec& Spec() const override { return spec_; }
  int64_t WeightBytes() const override { return weight_bytes_; }
  // One thread per instance (see Compile): more instances are the way to use more cores.
  void UseIntraOpThreads(int threads) override { (void)threads; }
  Status Forward(const float* input, int64_t batch, float* output) override { return Run(input, batch, output, true); }
  Status ForwardLogits(const float* input, int64_t batch, float* output) override {
    return Run(input, batch, output, false);
  }

 private:
  // A oneDNN primitive, or a loop kernel when `loop` is set.
  struct Step {
    dnnl::primitive primitive;
    std::unordered_map<int, dnnl::memory> args;  // owns the memory objects
    // `args` as the C API takes them, built once: dnnl::primitive::execute rebuilds this array (a
    // heap allocation) on every call, a percent of an EQTransformer window.
    std::vector<dnnl_exec_arg_t> exec_args;
    std::unique_ptr<LoopKernel> loop;
  };

  Status CompileSteps();
  void CreatePrimitives();
  int SoleConsumer(int id, OpKind op) const;
  Status AddConvolutionNode(int id, std::vector<bool>* done);
  Status AddLoopNode(int id);
  void AddConstantNode(int id);
  Status AddConcatNode(int id);
  void BindOutputAndScratchpad();
  // A zeroed buffer for a value of length × width rows, between margins of zeros (View).
  View NewBuffer(int64_t channels, int64_t length, int64_t width = 1);
  // activation: eltwise_relu, eltwise_gelu_erf or undef (none).
  Status AddConvolution(int id, const std::vector<int>& absorbed, dnnl::algorithm activation, int crop);
  void SetConvolutionValue(int id, const std::vector<int>& absorbed, int crop, const View& buffer,
                           int64_t first_row);
  // Adds the step of a convolution primitive; 2-D convolutions may pad by a copy (BorderedCopy).
  void AddConvPrimitive(const ConvLayer& layer, const View& src, const dnnl::memory::desc& dst_desc, float* dst,
                        bool accumulate, dnnl::algorithm activation);
  View BorderedCopy(const View& src, int64_t before, int64_t rows_after, int64_t columns_after);
  Status AddLoop(int id, std::vector<View> inputs, View output);
  // Whether the graph ends in a 1×1 convolution that output_head.h can do; sets head_.
  bool TakeHead();
  Status Run(const float* input, int64_t batch, float* output, bool probabilities);
  // Runs primitive step `step` on stream_; throws dnnl::error.
  void Execute(const Step& step) {
    dnnl::error::wrap_c_api(dnnl_primitive_execute(step.primitive.get(), stream_.get(),
                                                   static_cast<int>(step.exec_args.size()), step.exec_args.data()),
                            "could not execute a primitive");
  }

  ModelSpec spec_;
  std::shared_ptr<const Graph> graph_;
  dnnl::stream stream_;
  std::vector<std::unique_ptr<float[]>> buffers_;
  // Rows of zeros before and after every 1-D buffer: the widest padding of the graph's 1-D
  // convolutions as lowered (CompileSteps).
  int64_t zero_rows_ = 0;
  std::vector<View> values_;                          // per node
  std::unordered_map<int, std::vector<int>> concat_;  // node → parts, for concatenations never built
  std::vector<Step> steps_;
  // Convolutions described but not yet created (CreatePrimitives): step index and descriptor.
  std::vector<std::pair<size_t, dnnl::convolution_forward::primitive_desc>> uncreated_;
  // One scratchpad for every primitive (they run one after another), allocated once: oneDNN's
  // own would be allocated per execution.
  size_t scratchpad_bytes_ = 0;
  dnnl::memory scratchpad_;
  int64_t weight_bytes_ = 0;
  // The output: a 1×1 convolution done by output_head.h over these inputs, or none (then the
  // output node's value is the scores).
  std::optional<onednn::PointwiseHead> head_;
  std::vector<onednn::ChannelsLast> head_inputs_;
  std::vector<float> emit_scratch_;
};

View OnednnModel::NewBuffer(int64_t channels, int64_t length, int64_t width) {
  // 64-byte aligned for the vector loads of oneDNN's kernels, between margins of at least
  // zero_rows_ rows of zeros.
  constexpr int64_t kAlignFloats = 16;
  const int64_t margin = (zero_rows_ * channels + kAlignFloats - 1) / kAlignFloats * kAlignFloats;
  const size_t floats = static_cast<size_t>(2 * margin + channels * length * width + kAlignFloats);
  buffers_.emplace_back(new float[floats]());
  float* p = buffers_.back().get();
  p += (kAlignFloats - (reinterpret_cast<uintptr_t>(p) / sizeof(float)) % kAlignFloats) % kAlignFloats;
  // A 2-D value's rows are length × width; its convolutions keep their padding.
  const int64_t zero_rows = width == 1 && channels > 0 ? margin / channels : 0;
  return View{p + margin, channels, length, width, zero_rows, zero_rows};
}

Status OnednnModel::AddLoop(int id, std::vector<View> inputs, View output) {
  const GraphNode& n = graph_->Node(id);
  Step step;
  step.loop = onednn::MakeLoopKernel(n, std::move(inputs), output);
  if (!step.loop) {
    return Status::InvalidArgument("graph node " + std::to_string(id) + ": the oneDNN backend has no kernel for op " +
                                   std::to_string(static_cast<int>(n.op)));
  }
  steps_.push_back(std::move(step));
  values_[static_cast<size_t>(id)] = output;
  return Status::OK();
}

void OnednnModel::AddConvPrimitive(const ConvLayer& layer, const View& src, const dnnl::memory::desc& dst_desc,
                                   float* dst, bool accumulate, dnnl::algorithm activation) {
  const dnnl::engine& engine = CpuEngine();
  const int64_t out = layer.OutChannels(), in = layer.InChannels();
  // A forward convolution here (transposed ones are polyphase already): weight out × in × k (× k).
  const dnnl::memory::dims weight_dims(layer.weight.shape.begin(), layer.weight.shape.end());
  const dnnl::memory::desc weights_any(weight_dims, dt::f32, tag::any);
  const dnnl::memory::desc bias_desc =
      layer.bias.empty() ? dnnl::memory::desc() : dnnl::memory::desc({out}, dt::f32, tag::x);
  const dnnl::memory::desc src_desc = ChannelsLast(layer.two_d, in, src.length, src.width);
  using dims = dnnl::memory::dims;
  const dims strides = layer.two_d ? dims{layer.stride, layer.WidthStride()} : dims{layer.stride};
  const dims pads_right = layer.two_d ? dims{layer.pad_right, layer.WidthPadRight()} : dims{layer.pad_right};
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src_desc, weights_any, bias_desc, dst_desc, strides,
                                             dims(strides.size(), layer.pad_left), pads_right);
  dnnl::post_ops post;
  if (accumulate) post.append_sum(1.0f);
  if (activation != dnnl::algorithm::undef) post.append_eltwise(1.0f, activation, 0.0f, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(post);
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
  if (layer.two_d && (layer.pad_left > 0 || layer.pad_right > 0 || layer.WidthPadRight() > 0) &&
      std::string(pd.impl_info_str()).find("gemm") != std::string::npos) {
    ConvLayer unpadded = layer;
    unpadded.pad_left = unpadded.pad_right = unpadded.width_pad_right = 0;
    AddConvPrimitive(unpadded, BorderedCopy(src, layer.pad_left, layer.pad_right, layer.WidthPadRight()), dst_desc,
                     dst, accumulate, activation);
    return;
  }

  Step step;
  dnnl::memory user_weights({weight_dims, dt::f32, layer.two_d ? tag::oihw : tag::oiw}, engine,
                            const_cast<float*>(layer.weight.values.data()));
  dnnl::memory weights(pd.weights_desc(), engine);
  dnnl::reorder(user_weights, weights).execute(stream_, user_weights, weights);
  stream_.wait();
  weight_bytes_ += static_cast<int64_t>(pd.weights_desc().get_size());
  step.args[DNNL_ARG_WEIGHTS] = weights;
  if (!layer.bias.empty()) {
    dnnl::memory bias(bias_desc, engine);
    std::copy(layer.bias.begin(), layer.bias.end(), static_cast<float*>(bias.get_data_handle()));
    weight_bytes_ += static_cast<int64_t>(bias_desc.get_size());
    step.args[DNNL_ARG_BIAS] = bias;
  }
  step.args[DNNL_ARG_SRC] = dnnl::memory(src_desc, engine, src.data);
  step.args[DNNL_ARG_DST] = dnnl::memory(dst_desc, engine, dst);
  uncreated_.emplace_back(steps_.size(), pd);
  scratchpad_bytes_ = std::max(scratchpad_bytes_, pd.scratchpad_desc().get_size());
  steps_.push_back(std::move(step));
}

// A copy of 2-D value `src` inside a border of zeros, `before` rows and columns before it, `rows_after`
// rows and `columns_after` columns after, made on every run by a step added here. For a padded 2-D
// convolution oneDNN has only its gemm fallback for (CRED's first, 3 channels, stride 2, on AVX2:
// jit:avx2 takes it unpadded, 3.5× faster; the copy is 9,348 floats; and any in width phases).
View OnednnModel::BorderedCopy(const View& src, int64_t before, int64_t rows_after, int64_t columns_after) {
  const View bordered =
      NewBuffer(src.channels, before + src.length + rows_after, before + src.width + columns_after);
  Step step;
  step.loop = onednn::MakeBorderedCopy(src, bordered, before);
  steps_.push_back(std::move(step));
  return bordered;
}

// Convolution node `id` with the batch norm and activation after it that it absorbs (`absorbed`:
// the batch norm's id or nothing): a oneDNN primitive per input part, or a loop when narrow.
// `crop` (or -1): a crop that alone reads the convolution's value (SetConvolutionValue).
Status OnednnModel::AddConvolution(int id, const std::vector<int>& absorbed, dnnl::algorithm activation,
                                   int crop) {
  const GraphNode& n = graph_->Node(id);
  ConvLayer layer = onednn::LayerOf(n);
  for (int bn : absorbed) onednn::FoldBatchNorm(graph_->Node(bn), &layer);
  const int input = n.inputs[0];
  const auto concat = concat_.find(input);
  const std::vector<int> inputs = concat == concat_.end() ? std::vector<int>{input} : concat->second;
  std::vector<int64_t> channels;
  for (int p : inputs) channels.push_back(graph_->Node(p).channels);
  const bool activation_fits = activation == dnnl::algorithm::undef || activation == dnnl::algorithm::eltwise_relu;
  if (inputs.size() == 1 && activation_fits && onednn::RunsAsNarrowConv(layer)) {
    const View buffer = NewBuffer(n.channels, n.length);
    Step step;
    step.loop = onednn::MakeNarrowConvKernel(std::move(layer), activation == dnnl::algorithm::eltwise_relu,
                                             values_[static_cast<size_t>(input)], buffer);
    steps_.push_back(std::move(step));
    weight_bytes_ += static_cast<int64_t>(n.weight.values.size() * sizeof(float));
    SetConvolutionValue(id, absorbed, crop, buffer, 0);
    return Status::OK();
  }
  std::vector<ConvLayer> parts = onednn::SplitInputs(layer, channels);
  // A transposed convolution writes all its output phases, from which the node's samples are
  // a crop; a convolution in output phases writes up to phases − 1 samples past the node's; any
  // other writes exactly the node's samples.
  const int64_t in_length = graph_->Node(input).length;
  int64_t rows = n.length, first_row = 0, phases = 1, blocks = 0, width_phases = 1;
  const onednn::ConvIsa isa = onednn::LoweringConvIsa();
  if (layer.transposed) {
    for (ConvLayer& part : parts) part = onednn::Polyphase(part, in_length, n.pad_left + n.length, &blocks);
    phases = n.stride;
    rows = blocks * phases;
    first_row = n.pad_left;
  } else if ((phases = onednn::OutputPhasesFor(layer, isa)) > 1) {
    for (ConvLayer& part : parts) part = onednn::OutputPhases(part, phases, in_length, &blocks);
    rows = blocks * phases;
  } else if ((width_phases = onednn::WidthPhasesFor(layer, n.width, isa)) > 1) {
    for (ConvLayer& part : parts) part = onednn::WidthPhases(part, width_phases, graph_->Node(input).width);
  }
  const View buffer = NewBuffer(n.channels, rows, n.width);
  const dnnl::memory::desc dst_desc =
      ChannelsLast(layer.two_d, parts[0].OutChannels(), rows / phases, n.width / width_phases);
  for (size_t i = 0; i < parts.size(); ++i) {
    View src = values_[static_cast<size_t>(inputs[i])];
    PadFromMargin(&parts[i], &src);
    AddConvPrimitive(parts[i], src, dst_desc, buffer.data, i > 0,
                     i + 1 == parts.size() ? activation : dnnl::algorithm::undef);
  }
  SetConvolutionValue(id, absorbed, crop, buffer, first_row);
  return Status::OK();
}

// The value of convolution `id` (and of the nodes it absorbs): `buffer` (its rows as written) from
// row `first_row`, or the part of it `crop` keeps. The rows computed before and after that value
// are zeroed after each run, margins for the next convolution (PadFromMargin): a transposed
// convolution's outside its cropping, output phases' past the layer's end, and outside a crop
// (only the crop reads the convolution's value).
void OnednnModel::SetConvolutionValue(int id, const std::vector<int>& absorbed, int crop, const View& buffer,
                                      int64_t first_row) {
  const GraphNode& n = graph_->Node(id);
  const int64_t before = first_row + (crop >= 0 ? graph_->Node(crop).offset : 0);
  const int64_t length = crop >= 0 ? graph_->Node(crop).length : n.length;
  const int64_t after = buffer.length - before - length;
  const bool one_d = n.width == 1;
  if (one_d) {
    for (const auto& [row, rows] : {std::pair{int64_t{0}, before}, std::pair{before + length, after}}) {
      if (rows == 0) continue;
      Step zero;
      zero.loop = onednn::MakeZeroFill(buffer.data + row * n.channels, rows * n.channels);
      steps_.push_back(std::move(zero));
    }
  }
  View value{buffer.data + first_row * n.channels, n.channels, n.length, n.width};
  if (one_d && crop < 0) {
    value.zero_rows_before = buffer.zero_rows_before + before;
    value.zero_rows_after = buffer.zero_rows_after + after;
  }
  values_[static_cast<size_t>(id)] = value;
  for (int a : absorbed) values_[static_cast<size_t>(a)] = value;
  if (crop >= 0) {
    values_[static_cast<size_t>(crop)] = View{buffer.data + before * n.channels, n.channels, length, 1,
                                              buffer.zero_rows_before + before, buffer.zero_rows_after + after};
  }
}

bool OnednnModel::TakeHead() {
  const GraphNode& n = graph_->Node(graph_->OutputId());
  const bool pointwise = (n.op == OpKind::kConv1d || n.op == OpKind::kConvTranspose1d) && n.weight.shape[2] == 1 &&
                         n.stride == 1 && n.pad_left == 0 && n.pad_right == 0;
  if (!pointwise) return false;
  onednn::PointwiseHead head;
  head.labels = n.channels;
  head.channels = graph_->Node(n.inputs[0]).channels;
  head.weight.resize(static_cast<size_t>(head.labels * head.channels));
  for (int64_t l = 0; l < head.labels; ++l) {
    for (int64_t c = 0; c < head.channels; ++c) {
      // Conv1d: labels × channels × 1; ConvTranspose1d: channels × labels × 1.
      const int64_t from = n.op == OpKind::kConv1d ? l * head.channels + c : c * head.labels + l;
      head.weight[static_cast<size_t>(l * head.channels + c)] = n.weight.values[static_cast<size_t>(from)];
    }
  }
  head.bias = n.bias.empty() ? std::vector<float>(static_cast<size_t>(head.labels), 0.0f) : n.bias.values;
  weight_bytes_ += static_cast<int64_t>((head.weight.size() + head.bias.size()) * sizeof(float));
  head_ = std::move(head);
  return true;
}

Status OnednnModel::Compile() {
  // oneDNN plans a convolution's threads when it is created, from OpenMP's count on the creating
  // thread, and then forks that many on every execution, whichever thread runs it; gemm-based
  // primitives (the attention's matmuls) read the count when they run. Planned and run with one,
  // a primitive never forks: a window's layers are too small for a team (two threads on one window
  // ran at less than half the speed of one), and the caller's thread count does not matter.
  OneOpenMpThread one_thread;
  RAPID_RETURN_IF_ERROR(CompileSteps());
  CreatePrimitives();
  return Status::OK();
}

// Creating a convolution JIT-compiles its kernels: about 2 ms each, 50 of the 65 ms PhaseNet's
// first instance took to compile on one thread (a later instance's come from oneDNN's primitive
// cache). Creation is thread-safe, so the convolutions are created on up to kCompileThreads
// threads (inheriting this thread's CPU affinity), each planning its primitives for one OpenMP
// thread as Compile does. Rethrows the first dnnl::error.
void OnednnModel::CreatePrimitives() {
  constexpr size_t kCompileThreads = 4;
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = std::min({kCompileThreads, uncreated_.size(), cores});
  std::atomic<size_t> next{0};
  std::mutex error_mu;
  std::exception_ptr error;
  auto create = [&] {
    OneOpenMpThread one_thread;
    try {
      for (size_t i; (i = next.fetch_add(1)) < uncreated_.size();) {
        steps_[uncreated_[i].first].primitive = dnnl::convolution_forward(uncreated_[i].second);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (!error) error = std::current_exception();
    }
  };
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(create);
  create();
  for (std::thread& helper : helpers) helper.join();
  uncreated_.clear();
  if (error) std::rethrow_exception(error);
}

// The node that alone reads node `id`, when it is an `op` and `id` is not the output; else -1.
int OnednnModel::SoleConsumer(int id, OpKind op) const {
  const std::vector<int> readers = graph_->Consumers(id);
  const bool sole = readers.size() == 1 && graph_->Node(readers[0]).op == op;
  return sole && id != graph_->OutputId() ? readers[0] : -1;
}

// Convolution `id` with the batch norm and then the ReLU or GELU it absorbs (each its sole reader),
// and the crop that alone reads the result.
Status OnednnModel::AddConvolutionNode(int id, std::vector<bool>* done) {
  std::vector<int> batch_norm;
  int last = id;
  if (const int bn = SoleConsumer(id, OpKind::kBatchNorm); bn >= 0) batch_norm.push_back(last = bn);
  int activation = SoleConsumer(last, OpKind::kRelu);
  dnnl::algorithm algorithm = activation >= 0 ? dnnl::algorithm::eltwise_relu : dnnl::algorithm::undef;
  if (activation < 0 && (activation = SoleConsumer(last, OpKind::kGelu)) >= 0) {
    algorithm = dnnl::algorithm::eltwise_gelu_erf;
  }
  const int crop = graph_->Node(id).width == 1 ? SoleConsumer(activation >= 0 ? activation : last, OpKind::kCrop) : -1;
  RAPID_RETURN_IF_ERROR(AddConvolution(id, batch_norm, algorithm, crop));
  for (int bn : batch_norm) (*done)[static_cast<size_t>(bn)] = true;
  if (activation >= 0) {
    (*done)[static_cast<size_t>(activation)] = true;
    values_[static_cast<size_t>(activation)] = values_[static_cast<size_t>(id)];
  }
  if (crop >= 0) (*done)[static_cast<size_t>(crop)] = true;
  return Status::OK();
}

// Node `id` as a loop kernel (loop_kernels.h) into a buffer of its own.
Status OnednnModel::AddLoopNode(int id) {
  const GraphNode& n = graph_->Node(id);
  std::vector<View> inputs;
  for (int p : n.inputs) inputs.push_back(values_[static_cast<size_t>(p)]);
  const View output = NewBuffer(n.channels, n.length, n.width);
  return AddLoop(id, std::move(inputs), output);
}

// A value fixed at compile time, stored channels-last once.
void OnednnModel::AddConstantNode(int id) {
  const GraphNode& n = graph_->Node(id);
  const View v = NewBuffer(n.channels, n.length);
  for (int64_t c = 0; c < n.channels; ++c) {
    for (int64_t t = 0; t < n.length; ++t) {
      v.data[t * n.channels + c] = n.weight.values[static_cast<size_t>(c * n.length + t)];
    }
  }
  values_[static_cast<size_t>(id)] = v;
}

// Concatenation `id`: never built when only convolutions read it (they are split), else copied.
Status OnednnModel::AddConcatNode(int id) {
  const GraphNode& n = graph_->Node(id);
  const std::vector<int> readers = graph_->Consumers(id);
  const bool by_convolutions = id != graph_->OutputId() && std::all_of(readers.begin(), readers.end(), [&](int r) {
    const OpKind op = graph_->Node(r).op;
    return op == OpKind::kConv1d || op == OpKind::kConvTranspose1d;
  });
  if (by_convolutions) {
    concat_[id] = n.inputs;
    return Status::OK();
  }
  return AddLoopNode(id);
}

Status OnednnModel::CompileSteps() {
  const std::vector<GraphNode>& nodes = graph_->Nodes();
  values_.assign(nodes.size(), View{});
  // Output phases pad up to kMaxOutputPhases − 1 more on the right; polyphase pads by at most the
  // kernel − 1 on the left and, on the right, by what its blocks need past the input.
  for (const GraphNode& n : nodes) {
    if (n.op == OpKind::kConv1d) {
      zero_rows_ = std::max({zero_rows_, n.pad_left, n.pad_right + onednn::kMaxOutputPhases - 1});
    }
    if (n.op == OpKind::kConvTranspose1d) zero_rows_ = std::max(zero_rows_, n.weight.shape[2] - 1);
  }
  std::vector<bool> done(nodes.size(), false);
  if (TakeHead()) done[static_cast<size_t>(graph_->OutputId())] = true;
  for (int id = 0; id < static_cast<int>(nodes.size()); ++id) {
    if (done[static_cast<size_t>(id)]) continue;
    const GraphNode& n = nodes[static_cast<size_t>(id)];
    if (n.op == OpKind::kInput) {
      values_[0] = NewBuffer(n.channels, n.length);
    } else if (n.op == OpKind::kConstant) {
      AddConstantNode(id);
    } else if (n.op == OpKind::kConv1d || n.op == OpKind::kConvTranspose1d || n.op == OpKind::kConv2d) {
      RAPID_RETURN_IF_ERROR(AddConvolutionNode(id, &done));
    } else if (n.op == OpKind::kConcat) {
      RAPID_RETURN_IF_ERROR(AddConcatNode(id));
    } else if (!onednn::IsView(n, values_[static_cast<size_t>(n.inputs[0])], &values_[static_cast<size_t>(id)])) {
      RAPID_RETURN_IF_ERROR(AddLoopNode(id));
    }
  }
  BindOutputAndScratchpad();
  return Status::OK();
}

// The inputs of the output step, and the one scratchpad every primitive shares.
void OnednnModel::BindOutputAndScratchpad() {
  if (head_) {
    const int input = graph_->Node(graph_->OutputId()).inputs[0];
    const auto parts = concat_.find(input);
    for (int p : parts == concat_.end() ? std::vector<int>{input} : parts->second) {
      head_inputs_.push_back({values_[static_cast<size_t>(p)].data, graph_->Node(p).channels});
    }
  } else {
    const View& scores = values_[static_cast<size_t>(graph_->OutputId())];
    head_inputs_.push_back({scores.data, scores.channels});
  }
  scratchpad_ = dnnl::memory({{static_cast<int64_t>(scratchpad_bytes_)}, dt::u8, tag::x}, CpuEngine());
  for (Step& step : steps_) {
    if (step.loop) continue;
    step.args[DNNL_ARG_SCRATCHPAD] = scratchpad_;
    for (const auto& [arg, memory] : step.args) step.exec_args.push_back({arg, memory.get()});
  }
}

Status OnednnModel::Run(const float* input, int64_t batch, float* output, bool probabilities) {
  const int64_t channels = spec_.Channels(), samples = spec_.in_samples;
  const int64_t out_size = spec_.Labels() * spec_.OutSamples();
  OneOpenMpThread one_thread;  // see Compile
  try {
    const View& window = values_[0];
    for (int64_t b = 0; b < batch; ++b) {
      const float* x = input + b * channels * samples;
      ToChannelsLast(x, channels, samples, window.data);
      for (Step& step : steps_) {
        if (step.loop) step.loop->Run();
        else Execute(step);
      }
      stream_.wait();
      onednn::EmitScores(head_inputs_, spec_.OutSamples(), head_ ? &*head_ : nullptr, graph_->Activation(),
                         probabilities, &emit_scratch_, output + b * out_size);
    }
  } catch (const dnnl::error& e) {
    return Status::Internal(spec_.class_name + " forward failed (oneDNN): " + e.what());
  }
  return Status::OK();
}

}  // namespace

Status CompileOnednn(std::shared_ptr<const Graph> graph, const ModelSpec& spec, std::unique_ptr<Model>* out) {
  const GraphNode& scores = graph->Node(graph->OutputId());
  if (scores.channels != spec.Labels() || scores.length != spec.OutSamples()) {
    return Status::InvalidArgument(spec.class_name + ": the graph's output is " + std::to_string(scores.channels) +
                                   " × " + std::to_string(scores.length) + ", the model needs labels × out_samples");
  }
  auto model = std::make_unique<OnednnModel>(spec, std::move(graph));
  try {
    RAPID_RETURN_IF_ERROR(model->Compile());
  } catch (const dnnl::error& e) {
    return Status::InvalidArgument(spec.class_name + ": oneDNN cannot run this graph: " + e.what());
  }
  *out = std::move(model);
  return Status::OK();
}

}  // namespace rapid
