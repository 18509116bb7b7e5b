#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "backends/onednn/engine.h"
#include "backends/onednn/loop_kernels.h"

namespace rapid::onednn {

namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

// All heads at once, as oneDNN primitives: scores = scale · Q_h K_hᵀ (a batched matmul over the
// heads, reading q and k in place: channels-last, head h's d values at h·d of each row), softmax
// over the keys, context = A_h V_h written straight into the channels-last output.
class DotAttention : public LoopKernel {
 public:
  DotAttention(const GraphNode& n, std::vector<View> in, View out) : stream_(CpuEngine()) {
    const dnnl::engine& engine = CpuEngine();
    const int64_t heads = n.heads, length = out.length, width = out.channels, d = width / heads;
    // (heads, length, d) over a channels-last value: head stride d, row stride width.
    const dnnl::memory::desc by_head({heads, length, d}, dt::f32, dims{d, width, 1});
    const dnnl::memory::desc keys_t({heads, d, length}, dt::f32, dims{d, 1, width});
    const dnnl::memory::desc scores({heads, length, length}, dt::f32, dnnl::memory::format_tag::abc);
    scores_ = dnnl::memory(scores, engine);

    dnnl::primitive_attr scaled;
    scaled.set_output_scales(0, {static_cast<float>(n.scale)});
    scaled.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::matmul::primitive_desc qk({by_head, keys_t, scores}, scaled, engine);
    dnnl::primitive_attr plain;
    plain.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    const dnnl::softmax_forward::primitive_desc softmax({dnnl::prop_kind::forward_inference, scores, 2}, plain, engine);
    const dnnl::matmul::primitive_desc av({scores, by_head, by_head}, plain, engine);
    size_t scratch_bytes = 0;
    for (const auto& desc : {qk.scratchpad_desc(), softmax.scratchpad_desc(), av.scratchpad_desc()}) {
      scratch_bytes = std::max(scratch_bytes, desc.get_size());
    }
    scratchpad_ = dnnl::memory({{static_cast<int64_t>(scratch_bytes)}, dt::u8, dnnl::memory::format_tag::x}, engine);
    auto view = [&](const dnnl::memory::desc& desc, const View& v) { return dnnl::memory(desc, engine, v.data); };
    steps_.push_back({dnnl::matmul(qk), {{DNNL_ARG_SRC, view(by_head, in[0])}, {DNNL_ARG_WEIGHTS, view(keys_t, in[1])},
                                         {DNNL_ARG_DST, scores_}, {DNNL_ARG_SCRATCHPAD, scratchpad_}}});
    steps_.push_back({dnnl::softmax_forward(softmax),
                      {{DNNL_ARG_SRC, scores_}, {DNNL_ARG_DST, scores_}, {DNNL_ARG_SCRATCHPAD, scratchpad_}}});
    steps_.push_back({dnnl::matmul(av), {{DNNL_ARG_SRC, scores_}, {DNNL_ARG_WEIGHTS, view(by_head, in[2])},
                                         {DNNL_ARG_DST, view(by_head, out)}, {DNNL_ARG_SCRATCHPAD, scratchpad_}}});
  }

  void Run() override {
    for (auto& [primitive, args] : steps_) primitive.execute(stream_, args);
  }

 private:
  dnnl::stream stream_;
  dnnl::memory scores_, scratchpad_;
  std::vector<std::pair<dnnl::primitive, std::unordered_map<int, dnnl::memory>>> steps_;
};

}  // namespace

std::unique_ptr<LoopKernel> MakeDotAttentionKernel(const GraphNode& n, std::vector<View> inputs, View output) {
  return std::make_unique<DotAttention>(n, std::move(inputs), output);
}

}  // namespace rapid::onednn
