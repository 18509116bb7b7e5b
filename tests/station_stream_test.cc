// Streaming preprocess: resampling in parts equals resampling in one go; an instrument's data fed
// in overlapping chunks gives the same block pieces as one feed; stitched pieces give exactly the
// traces of the whole block; the data held between parts stay bounded.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "dsp/fft.h"
#include "dsp/resample.h"
#include "dsp/resample_stream.h"
#include "engine/annotator.h"
#include "engine/station_block.h"
#include "engine/station_stream.h"
#include "fake_model.h"

namespace rapid {
namespace {

using testing::FakeModel;

constexpr NanoTime kT0 = 1734263880LL * kNanosPerSecond;  // 2024-12-15T11:58:00Z

// Coloured noise (AR(1)) plus a slow sine: a signal with energy at every frequency.
std::vector<double> Signal(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 100.0);
  std::vector<double> x(static_cast<size_t>(n));
  double ar = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    ar = 0.9 * ar + noise(rng);
    x[static_cast<size_t>(i)] = ar + 500.0 * std::sin(0.001 * static_cast<double>(i));
  }
  return x;
}

// `fourier_whole_max`: see ResampleStream; the data held stay within it (Fourier) or within a
// piece and its margins (decimation, or Fourier beyond the limit).
std::vector<double> StreamInParts(double rate, const std::vector<double>& x, uint32_t seed,
                                  ResamplePieces pieces = ResamplePieces()) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int64_t> part(1, static_cast<int64_t>(rate) * 97);
  ResampleStream stream(rate, 100.0, pieces);
  const bool fourier = ChooseResampleMethod(rate, 100.0) == ResampleMethod::kFourier;
  const double whole = static_cast<double>(pieces.WholeMaxInputSamples(rate, 100.0));
  const double bound = std::max<double>(fourier ? whole + 97 * rate : 0.0,
                                        static_cast<double>(pieces.piece_s + 2 * pieces.margin_s + 97) * rate);
  std::vector<double> out;
  for (size_t i = 0; i < x.size();) {
    const size_t n = std::min<size_t>(x.size() - i, static_cast<size_t>(part(rng)));
    if (part(rng) % 2 == 0) {  // Feed is Append + Drain(false), here after 0–2 samples it skips
      const int64_t from = part(rng) % 3;
      std::vector<double> samples(static_cast<size_t>(from), std::nan(""));
      samples.insert(samples.end(), x.begin() + static_cast<int64_t>(i), x.begin() + static_cast<int64_t>(i + n));
      EXPECT_TRUE(stream.Feed(&samples, from, &out).ok());
    } else {
      stream.Append(x.data() + i, static_cast<int64_t>(n));
      EXPECT_TRUE(stream.Drain(false, &out).ok());
    }
    EXPECT_LE(static_cast<double>(stream.buffered()), bound);
    i += n;
  }
  EXPECT_TRUE(stream.Drain(true, &out).ok());
  return out;
}

TEST(ResampleStreamTest, PartsDoNotChangeTheOutput) {
  for (double rate : {250.0, 200.0, 40.0, 100.0}) {
    const std::vector<double> x = Signal(static_cast<int64_t>(rate) * 40 * 60, 5);  // 40 min: several pieces
    for (const ResamplePieces pieces : {ResamplePieces(), ResamplePieces{600, 60, 0}, ResamplePieces::LowLatency(10)}) {
      const std::vector<double> one = StreamInParts(rate, x, 1, pieces);
      EXPECT_EQ(static_cast<int64_t>(one.size()), 40 * 60 * 100) << rate;
      EXPECT_EQ(StreamInParts(rate, x, 2, pieces), one) << rate;
    }
  }
}

TEST(ResampleStreamTest, FourierSegmentUpToTheLimitIsResampledWholeLikeSeisBench) {
  // An hour at 40 Hz, odd length, as broadband archives have: pieces would differ from ObsPy's
  // whole-trace FFT throughout (docs/decisions.md), so it is resampled whole.
  std::vector<double> x = Signal(40 * 3600 - 1, 13);
  const std::vector<double> streamed = StreamInParts(40.0, x, 6);
  ASSERT_TRUE(ResampleSegment(40.0, 100.0, &x).ok());
  EXPECT_EQ(streamed, x);
}

// The Fourier method resamples whole only segments whose output stays within the output limit
// (its memory grows with the output): a day and more at low rates goes in pieces.
TEST(ResampleStreamTest, FourierWholeLimitFollowsTheOutputLength) {
  const ResamplePieces defaults;
  EXPECT_EQ(defaults.WholeMaxInputSamples(40.0, 100.0), 3'600'000);   // 25 h: 9 M samples out
  EXPECT_EQ(defaults.WholeMaxInputSamples(250.0, 100.0), 4'500'000);  // the input limit: 5 h
  EXPECT_EQ(defaults.WholeMaxInputSamples(5.0, 100.0), 450'000);
  EXPECT_EQ(defaults.WholeMaxInputSamples(1.0, 100.0), 90'000);
  const ResamplePieces small{60, 10, 4'500'000, 20'000};
  const int64_t limit = small.WholeMaxInputSamples(40.0, 100.0);
  ASSERT_EQ(limit, 8'000);
  EXPECT_LE(FourierResampledLength(limit, 40.0, 100.0), 20'000);
  EXPECT_GT(FourierResampledLength(limit + 1, 40.0, 100.0), 20'000);
  std::vector<double> x = Signal(limit, 21);
  const std::vector<double> streamed = StreamInParts(40.0, x, 7, small);
  ASSERT_TRUE(ResampleSegment(40.0, 100.0, &x).ok());
  EXPECT_EQ(streamed, x);
  // Longer: in pieces, so no longer the whole-segment result (and the data held stay within a
  // piece and its margins, StreamInParts checks).
  std::vector<double> longer = Signal(4 * limit + 1, 22);
  const std::vector<double> pieces = StreamInParts(40.0, longer, 8, small);
  ASSERT_TRUE(ResampleSegment(40.0, 100.0, &longer).ok());
  ASSERT_EQ(pieces.size(), longer.size());
  EXPECT_NE(pieces, longer);
}

// A rate whose seconds hold whole samples (0.1 Hz: 600 s are 60) is cut into pieces like any
// other; one that cannot be cut (39.99998 Hz, as a blockette 100 may give) is resampled whole up
// to the limit and refused beyond it, rather than held without bound.
TEST(ResampleStreamTest, SegmentsThatCannotBeCutAreRefusedBeyondTheWholeLimit) {
  const ResamplePieces small{600, 60, 4'500'000, 200'000};
  ResampleStream slow(0.1, 100.0, small);
  ASSERT_EQ(small.WholeMaxInputSamples(0.1, 100.0), 200);
  std::vector<float> out;
  const std::vector<double> x = Signal(2000, 31);
  for (size_t i = 0; i < x.size(); i += 100) {
    slow.Append(x.data() + i, 100);
    ASSERT_TRUE(slow.Drain(false, &out).ok());
    EXPECT_LE(slow.buffered(), 200 + 100);  // the whole limit (then a piece and its margins) and the part
  }
  ASSERT_TRUE(slow.Drain(true, &out).ok());
  EXPECT_EQ(static_cast<int64_t>(out.size()), FourierResampledLength(2000, 0.1, 100.0));

  const double odd_rate = 39.99998;
  const ResamplePieces limit{600, 60, 4'500'000, 20'000};
  const int64_t whole = limit.WholeMaxInputSamples(odd_rate, 100.0);
  std::vector<double> y = Signal(whole, 32);
  ResampleStream fits(odd_rate, 100.0, limit);
  std::vector<double> resampled;
  fits.Append(y.data(), whole);
  ASSERT_TRUE(fits.Drain(true, &resampled).ok());
  ASSERT_TRUE(ResampleSegment(odd_rate, 100.0, &y).ok());
  EXPECT_EQ(resampled, y);
  ResampleStream too_long(odd_rate, 100.0, limit);
  const std::vector<double> z = Signal(whole + 1, 33);
  too_long.Append(z.data(), whole + 1);
  const Status refused = too_long.Drain(false, &resampled);
  EXPECT_EQ(refused.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(refused.message().find("39.99998 Hz"), std::string::npos) << refused.message();
}

TEST(ResampleStreamTest, ShortSegmentIsResampledWholeLikeSeisBench) {
  for (double rate : {250.0, 200.0, 40.0}) {
    std::vector<double> x = Signal(static_cast<int64_t>(rate) * 300 + 7, 9);
    const std::vector<double> streamed = StreamInParts(rate, x, 3);
    ASSERT_TRUE(ResampleSegment(rate, 100.0, &x).ok());
    EXPECT_EQ(streamed, x) << rate;
  }
}

// Piecewise resampling of a long segment (Fourier: beyond kFourierWholeMaxSamples) differs from resampling it whole: decimation only by the
// far tails of the IIR filter (nothing measurable); the Fourier method by its spectral cut-off's
// slowly decaying (1/x) tails beyond the margin — measured 2.3e-4 of the peak amplitude for 250 Hz
// coloured noise — plus, within a margin of the segment's ends, the whole-segment FFT's own
// wrap-around, which depends on the far end of the segment and which piecewise resampling does not
// reproduce (docs/decisions.md).
TEST(ResampleStreamTest, PiecewiseIsCloseToTheWholeSegment) {
  // rapid run's pieces (Fourier forced into them), and a live stream's 10 s pieces.
  for (const ResamplePieces pieces : {ResamplePieces{600, 60, 0}, ResamplePieces::LowLatency(10)}) {
    for (double rate : {200.0, 250.0, 40.0}) {
      std::vector<double> x = Signal(static_cast<int64_t>(rate) * 40 * 60, 11);
      const std::vector<double> streamed = StreamInParts(rate, x, 4, pieces);
      ASSERT_TRUE(ResampleSegment(rate, 100.0, &x).ok());
      ASSERT_EQ(streamed.size(), x.size());
      const auto edge = static_cast<size_t>(pieces.margin_s * 100);
      double interior = 0.0, ends = 0.0, peak = 0.0;
      for (size_t i = 0; i < x.size(); ++i) {
        const double d = std::abs(streamed[i] - x[i]);
        double& worst = i < edge || i + edge >= x.size() ? ends : interior;
        worst = std::max(worst, d);
        peak = std::max(peak, std::abs(x[i]));
      }
      std::printf("%g Hz -> 100 Hz, %lld s pieces vs whole segment: max |diff| / max |x| = %.3g inside, %.3g near the ends\n",
                  rate, static_cast<long long>(pieces.piece_s), interior / peak, ends / peak);
      if (ChooseResampleMethod(rate, 100.0) == ResampleMethod::kDecimate) {
        EXPECT_LE((interior + ends) / peak, 1e-12);
      } else {
        EXPECT_LE(interior / peak, pieces.margin_s >= 60 ? 1e-3 : 1e-2) << rate;
      }
    }
  }
}

ModelSpec TestSpec() { return FakeModel().Spec(); }  // 100-sample windows, stride 60, ZNE, 100 Hz

// Three components with staggered starts, a gap in all of them, and different rates.
std::vector<TraceSegment> Instrument(double rate) {
  std::vector<TraceSegment> segs;
  const int64_t n = static_cast<int64_t>(rate) * 240;
  int k = 0;
  for (const char* cha : {"HHZ", "HHN", "HHE"}) {
    for (int part = 0; part < 2; ++part) {
      TraceSegment s;
      s.id = {"XX", "STA", "00", cha};
      s.rate_hz = rate;
      s.start = kT0 + part * 300 * kNanosPerSecond + k * 30'000'000LL;  // 0, 0.03, 0.06 s later
      s.samples = Signal(n - k * 13, static_cast<uint32_t>(10 * k + part));
      segs.push_back(std::move(s));
    }
    ++k;
  }
  return segs;
}

// Splits segments into consecutive chunks of `chunk_s` seconds that overlap by `overlap_s`.
std::vector<std::vector<TraceSegment>> Chunks(const std::vector<TraceSegment>& segs, int64_t chunk_s, int64_t overlap_s) {
  std::vector<std::vector<TraceSegment>> chunks;
  for (NanoTime t = kT0; t < kT0 + 600 * kNanosPerSecond; t += chunk_s * kNanosPerSecond) {
    std::vector<TraceSegment> chunk;
    for (const TraceSegment& s : segs) {
      TraceSegment c = s;
      c.samples.clear();
      for (int64_t i = 0; i < static_cast<int64_t>(s.samples.size()); ++i) {
        const NanoTime ti = s.SampleTimeAt(i);
        if (ti < t - overlap_s * kNanosPerSecond || ti >= t + chunk_s * kNanosPerSecond) continue;
        if (c.samples.empty()) c.start = ti;
        c.samples.push_back(s.samples[static_cast<size_t>(i)]);
      }
      if (!c.samples.empty()) chunk.push_back(std::move(c));
    }
    chunks.push_back(std::move(chunk));
  }
  return chunks;
}

std::vector<StationBlock> Feed(const std::vector<std::vector<TraceSegment>>& parts, int64_t piece_windows,
                               int64_t* max_held, const ModelSpec& spec = TestSpec()) {
  StationStream stream(spec, piece_windows, 0);
  std::vector<StationBlock> pieces;
  std::vector<std::string> notes;
  for (const auto& part : parts) {
    EXPECT_TRUE(stream.Push(part, &pieces, &notes).ok());
    if (max_held != nullptr) *max_held = std::max(*max_held, stream.HeldSamples());
  }
  EXPECT_TRUE(stream.Close(&pieces, &notes).ok());
  return pieces;
}

// What the planner reserves for an instrument's preprocessing: nothing beyond pieces for rates used
// as they are or decimated; for Fourier rates, the whole-segment resampling at its limit, bounded
// at any rate because the limit follows the output length (without it, 4.5 M samples at 1 Hz would
// resample to 450 M), and less for channels too short to reach the limit.
TEST(StationStreamTest, PreprocessBytesBoundIsZeroOrBoundedAtEveryRate) {
  ModelSpec spec;  // 3 components at 100 Hz
  const ResamplePieces pieces;
  constexpr int64_t kLong = int64_t{1} << 40;  // channels of any length
  EXPECT_EQ(StationStream::PreprocessBytesBound(spec, 100.0, kLong, pieces), 0);
  EXPECT_EQ(StationStream::PreprocessBytesBound(spec, 200.0, kLong, pieces), 0);
  EXPECT_EQ(StationStream::PreprocessBytesBound(spec, 1000.0, kLong, pieces), 0);
  const int64_t at_40_hz = StationStream::PreprocessBytesBound(spec, 40.0, kLong, pieces);
  EXPECT_GE(at_40_hz, FourierResampleBytesBound(3'600'000, 9'000'000));
  for (double rate : {1.0, 5.0, 20.0, 40.0, 50.0, 120.0, 250.0, 1250.0}) {
    const int64_t bytes = StationStream::PreprocessBytesBound(spec, rate, kLong, pieces);
    EXPECT_GT(bytes, 0) << rate;
    EXPECT_LE(bytes, at_40_hz * 11 / 10) << rate;
  }
  ModelSpec one_component;
  one_component.component_order = "Z";
  EXPECT_LT(StationStream::PreprocessBytesBound(one_component, 40.0, kLong, pieces), at_40_hz);
  // A minute at 40 Hz: its own resampling, not a day's.
  const int64_t minute = StationStream::PreprocessBytesBound(spec, 40.0, 2400, pieces);
  EXPECT_GE(minute, FourierResampleBytesBound(2400, 6000));
  EXPECT_LT(minute, FourierResampleBytesBound(2400, 6000) + kFftPlanCacheBytes + (int64_t{1} << 20));
  EXPECT_EQ(StationStream::PreprocessBytesBound(spec, 40.0, 0, pieces), 0);
}

TEST(StationStreamTest, ChunkedFeedGivesTheSamePiecesAsOneFeed) {
  for (double rate : {100.0, 250.0}) {
    const auto segs = Instrument(rate);
    const auto one = Feed({segs}, 16, nullptr);
    int64_t held = 0;
    const auto chunked = Feed(Chunks(segs, 20, 4), 16, &held);
    ASSERT_EQ(one.size(), chunked.size()) << rate;
    EXPECT_GT(one.size(), 10u);
    for (size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(one[i].start, chunked[i].start) << i;
      EXPECT_EQ(one[i].block_id, chunked[i].block_id) << i;
      EXPECT_EQ(one[i].first_window, chunked[i].first_window) << i;
      EXPECT_EQ(one[i].window_count, chunked[i].window_count) << i;
      EXPECT_EQ(one[i].last_piece, chunked[i].last_piece) << i;
      EXPECT_EQ(one[i].samples, chunked[i].samples) << i;
    }
    // At the model rate, a stream holds at most about a chunk and a piece per component between
    // parts — not the 2 × 240 s it was fed (a resampled channel adds its resampler's buffer, bounded
    // in ResampleStreamTest).
    if (rate == 100.0) EXPECT_LT(held, 3 * (24 * 100 + 2 * 1000)) << rate;
  }
}

// A component silent for several chunks (E: 100–200 s), a gap in one component (Z: 150–160 s) and
// a component starting late off the grid (N: +30.004 s) — zeros where a component has no data
// (SeisBench's strict=False). Chunked feeding must give the pieces and the time shift of one feed,
// and E's silence must not make the stream hold the other components until the end.
TEST(StationStreamTest, SilentComponentAndOneComponentGapsStreamLikeOneFeed) {
  for (double rate : {100.0, 40.0}) {
    auto seg = [&](const char* cha, double from_s, double to_s, uint32_t seed) {
      TraceSegment t;
      t.id = {"XX", "STA", "00", cha};
      t.rate_hz = rate;
      t.start = kT0 + static_cast<int64_t>(from_s * 1e9);
      t.samples = Signal(static_cast<int64_t>((to_s - from_s) * rate), seed);
      return t;
    };
    const std::vector<TraceSegment> segs = {seg("HHZ", 0, 150, 1),       seg("HHZ", 160, 400, 2),
                                            seg("HHN", 30.004, 400, 3),  seg("HHE", 0, 100, 4),
                                            seg("HHE", 200, 400, 5)};
    const auto one = Feed({segs}, 16, nullptr);
    int64_t held = 0;
    const auto chunked = Feed(Chunks(segs, 20, 4), 16, &held);
    ASSERT_EQ(one.size(), chunked.size()) << rate;
    EXPECT_GT(one.size(), 10u);
    ASSERT_TRUE(one.back().last_piece);
    EXPECT_EQ(one.back().block_start, kT0);  // one block: some component always has data
    EXPECT_EQ(one.back().time_shift_ns, 4'000'000 / 5);  // N's +4 ms over five segments
    for (size_t i = 0; i < one.size(); ++i) {
      EXPECT_EQ(one[i].start, chunked[i].start) << i;
      EXPECT_EQ(one[i].last_piece, chunked[i].last_piece) << i;
      // Final on the last piece; earlier pieces carry the mean over the segments joined so far,
      // which depends on how much had arrived.
      if (one[i].last_piece) EXPECT_EQ(one[i].time_shift_ns, chunked[i].time_shift_ns) << i;
      EXPECT_EQ(one[i].samples, chunked[i].samples) << i;
    }
    if (rate == 100.0) EXPECT_LT(held, 3 * (24 * 100 + 2 * 1000)) << rate;
  }
}

// Array models (pieces share samples, also with fewer outputs than inputs) and point models
// (pieces own disjoint windows).
class StitchedPiecesTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(StitchedPiecesTest, EqualTheWholeBlocks) {
  const int64_t out_samples = GetParam();
  FakeModel m1(-1, out_samples), m2(-1, out_samples), m3(-1, out_samples);
  const ModelSpec& spec = m1.Spec();
  const auto segs = Instrument(100.0);
  std::vector<StationBlock> whole;
  std::vector<std::string> notes;
  ASSERT_TRUE(BuildStationBlocks(segs, spec, &whole, &notes).ok());
  ASSERT_EQ(whole.size(), 2u);  // the gap splits the data
  std::vector<int64_t> block_samples;
  std::vector<NanoTime> block_starts;
  for (const StationBlock& b : whole) {
    block_samples.push_back(b.samples_per_channel);
    block_starts.push_back(b.start);
  }
  std::vector<Annotation> ref, parts;
  AnnotateStats stats;
  AnnotateOptions opts;
  opts.batch_size = 5;
  AnnotateBlocks({&m1}, whole, opts, &ref, &stats);
  AnnotateBlocks({&m1, &m2, &m3}, Feed(Chunks(segs, 30, 5), 7, nullptr, spec), opts, &parts, &stats);
  EXPECT_EQ(stats.blocks, 2);
  size_t p = 0;
  for (size_t k = 0; k < ref.size(); ++k) {
    const Annotation& w = ref[k];
    if (out_samples == 7) {
      // SeisBench's rule: int(s · 7 / 100) for the window at input sample s, int(ceil(n · 0.07)) long,
      // less the trailing samples no window reached.
      EXPECT_DOUBLE_EQ(w.rate_hz, 7.0);
      EXPECT_EQ(w.start, block_starts[k]);
      const int64_t last_start = block_samples[k] - 100;
      EXPECT_EQ(static_cast<int64_t>(w.traces.front().size()), static_cast<int64_t>(last_start * 0.07) + 7);
    }
    if (spec.PointOutput()) {
      // One sample per window of the grid (no end-aligned window), from the first window's centre,
      // at rate / stride.
      EXPECT_EQ(static_cast<int64_t>(w.traces.front().size()), (block_samples[k] - 100) / 60 + 1);
      EXPECT_EQ(w.start, SampleTime(block_starts[k], 50, 100.0));
      EXPECT_DOUBLE_EQ(w.rate_hz, 100.0 / 60.0);
    }
    std::vector<std::vector<float>> joined(w.traces.size());
    ASSERT_EQ(parts[p].piece, 0);
    EXPECT_EQ(parts[p].start, w.start);
    int64_t next_offset = parts[p].offset;
    while (true) {
      const Annotation& a = parts[p++];
      EXPECT_EQ(a.offset, next_offset);
      EXPECT_EQ(a.start, SampleTime(w.block_start, a.offset, w.rate_hz));
      next_offset += static_cast<int64_t>(a.traces.front().size());
      for (size_t l = 0; l < a.traces.size(); ++l) joined[l].insert(joined[l].end(), a.traces[l].begin(), a.traces[l].end());
      if (a.last_piece) break;
    }
    EXPECT_EQ(joined, w.traces);  // bit for bit
  }
  EXPECT_EQ(p, parts.size());
}

// 0: one output per input sample; 7: seven per 100-sample window (as CRED's 19 per 3000); 1: point.
INSTANTIATE_TEST_SUITE_P(Outputs, StitchedPiecesTest, ::testing::Values(0, 7, 1),
                         [](const ::testing::TestParamInfo<int64_t>& info) {
                           return info.param == 0 ? std::string("Array")
                                  : info.param == 1 ? std::string("Point")
                                                    : std::string("SubSampled");
                         });

}  // namespace
}  // namespace rapid
