#include "engine/annotator.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "engine/stitcher.h"
#include "engine/windower.h"

namespace rapid {

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct WindowRef {
  size_t block;
  int64_t start;
};

}  // namespace

Status AnnotateBlocks(Model* model, const std::vector<StationBlock>& blocks, const AnnotateOptions& opts,
                      std::vector<Annotation>* out, AnnotateStats* stats) {
  const ModelSpec& spec = model->Spec();
  const int64_t in = spec.in_samples;
  const int64_t channels = spec.Channels();
  const int64_t labels = spec.Labels();
  const int64_t batch_size = std::max<int64_t>(1, opts.batch_size);

  std::vector<WindowRef> windows;
  std::vector<std::unique_ptr<Stitcher>> stitchers;
  for (size_t b = 0; b < blocks.size(); ++b) {
    stitchers.push_back(std::make_unique<Stitcher>(spec, blocks[b].samples_per_channel));
    for (int64_t s : WindowStarts(blocks[b].samples_per_channel, in, spec.StrideSamples())) windows.push_back({b, s});
  }

  std::vector<float> input(static_cast<size_t>(batch_size * channels * in));
  std::vector<float> output(static_cast<size_t>(batch_size * labels * in));
  for (size_t first = 0; first < windows.size(); first += static_cast<size_t>(batch_size)) {
    const size_t count = std::min(windows.size() - first, static_cast<size_t>(batch_size));
    auto t0 = Clock::now();
    for (size_t i = 0; i < count; ++i) {
      const WindowRef& w = windows[first + i];
      const StationBlock& block = blocks[w.block];
      NormaliseWindow(block.samples.data(), block.samples_per_channel, channels, w.start, in, spec.norm,
                      input.data() + i * channels * in);
    }
    auto t1 = Clock::now();
    RAPID_RETURN_IF_ERROR(model->Forward(input.data(), static_cast<int64_t>(count), output.data()));
    auto t2 = Clock::now();
    for (size_t i = 0; i < count; ++i) {
      const WindowRef& w = windows[first + i];
      stitchers[w.block]->Add(w.start, output.data() + i * labels * in);
    }
    auto t3 = Clock::now();
    stats->normalise_s += Seconds(t0, t1);
    stats->forward_s += Seconds(t1, t2);
    stats->stitch_s += Seconds(t2, t3);
    stats->windows += static_cast<int64_t>(count);
    stats->batches += 1;
  }

  out->clear();
  for (size_t b = 0; b < blocks.size(); ++b) {
    Annotation a;
    a.trace_id = blocks[b].trace_id;
    a.rate_hz = blocks[b].rate_hz;
    a.traces = stitchers[b]->Finish();
    int64_t lead = 0, trail = 0;
    if (!a.traces.empty()) NanMargins(a.traces.front(), &lead, &trail);
    for (auto& t : a.traces) {
      t.erase(t.end() - trail, t.end());
      t.erase(t.begin(), t.begin() + lead);
    }
    a.start = SampleTime(blocks[b].start, lead, a.rate_hz);
    out->push_back(std::move(a));
  }
  return Status::OK();
}

}  // namespace rapid
