#include "dsp/butterworth.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <complex>
#include <numbers>

#include "core/hz_text.h"
#include "core/vector_loops.h"
#include "dsp/double_lanes.h"

namespace rapid {

namespace {

using Complex = std::complex<double>;

// scipy's buttap: the analog prototype's poles -exp(iπm / 2N), m = -N+1, -N+3, …, N-1.
std::vector<Complex> PrototypePoles(int corners) {
  std::vector<Complex> poles;
  for (int m = -corners + 1; m < corners; m += 2) {
    poles.push_back(-std::exp(Complex(0.0, std::numbers::pi * m / (2.0 * corners))));
  }
  return poles;
}

// Pre-warped analog frequency of a cutoff (fraction of Nyquist), for the bilinear transform with
// fs = 2 (scipy's convention): 2·fs·tan(π·wn / fs).
double Prewarp(double wn) { return 4.0 * std::tan(std::numbers::pi * wn / 2.0); }

// Bilinear transform of analog poles (fs = 2): z = (4 + s) / (4 - s).
std::vector<Complex> BilinearPoles(const std::vector<Complex>& analog, Complex* denominator) {
  std::vector<Complex> digital;
  *denominator = 1.0;
  for (const Complex& p : analog) {
    digital.push_back((4.0 + p) / (4.0 - p));
    *denominator *= 4.0 - p;
  }
  return digital;
}

bool IsReal(const Complex& v) { return v.imag() == 0.0; }

// scipy's _cplxreal: one of each conjugate pair (imag > 0) and the real values (imag within
// 100·eps·|v| of 0 counts as real). Complex ones first, then real ones, each sorted as scipy sorts.
std::vector<Complex> OneOfEachPair(const std::vector<Complex>& values) {
  std::vector<Complex> complex_upper, real;
  for (const Complex& v : values) {
    if (std::abs(v.imag()) <= 100 * 2.220446049250313e-16 * std::abs(v)) {
      real.push_back(Complex(v.real(), 0.0));
    } else if (v.imag() > 0) {
      complex_upper.push_back(v);
    }
  }
  auto by_real = [](const Complex& a, const Complex& b) { return a.real() < b.real(); };
  std::stable_sort(complex_upper.begin(), complex_upper.end(), by_real);
  std::stable_sort(real.begin(), real.end(), by_real);
  complex_upper.insert(complex_upper.end(), real.begin(), real.end());
  return complex_upper;
}

// Index of the value of `from` nearest `to` among all (kind 0), the real ones (1) or the complex
// ones (2): scipy's _nearest_real_complex_idx.
size_t NearestIndex(const std::vector<Complex>& from, const Complex& to, int kind) {
  std::vector<size_t> order(from.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return std::abs(from[a] - to) < std::abs(from[b] - to); });
  for (size_t i : order) {
    if (kind == 0 || (kind == 1) == IsReal(from[i])) return i;
  }
  return order.front();
}

// The pole nearest the unit circle ("worst"), scipy's idx_worst for digital filters.
size_t WorstPole(const std::vector<Complex>& poles) {
  size_t worst = 0;
  for (size_t i = 1; i < poles.size(); ++i) {
    if (std::abs(1.0 - std::abs(poles[i])) < std::abs(1.0 - std::abs(poles[worst]))) worst = i;
  }
  return worst;
}

Biquad SectionOf(const Complex& z1, const Complex& z2, const Complex& p1, const Complex& p2) {
  // numpy.poly of each pair: [1, −(a + b), a·b], real for conjugate or real pairs.
  return {1.0, (-(z1 + z2)).real(), (z1 * z2).real(), (-(p1 + p2)).real(), (p1 * p2).real()};
}

// scipy.signal.zpk2sos(z, p, k) with its default pairing ('nearest') for a digital filter: the
// pole nearest the unit circle is paired first with its conjugate (or the next such real pole)
// and the zeros nearest it; sections are returned with the first-paired last, and the gain
// multiplies the first section. Following its order keeps the rounding of the cascade equal to
// scipy's, not only its transfer function. REQUIRES: as many zeros as poles.
std::vector<Biquad> ZpkToSections(std::vector<Complex> zeros, std::vector<Complex> poles, double gain) {
  if (poles.size() % 2 == 1) {
    poles.push_back(0.0);
    zeros.push_back(0.0);
  }
  const size_t n_sections = poles.size() / 2;
  zeros = OneOfEachPair(zeros);
  poles = OneOfEachPair(poles);
  // OneOfEachPair keeps one of each complex pair: the conjugates are implied.
  std::vector<Biquad> reversed;
  auto take = [](std::vector<Complex>* v, size_t i) {
    const Complex x = (*v)[i];
    v->erase(v->begin() + static_cast<std::ptrdiff_t>(i));
    return x;
  };
  for (size_t s = 0; s < n_sections; ++s) {
    const Complex p1 = take(&poles, WorstPole(poles));
    const bool reals_left = std::any_of(poles.begin(), poles.end(), IsReal);
    if (IsReal(p1) && !reals_left) {  // the last real pole: a first-order section
      const Complex z1 = take(&zeros, NearestIndex(zeros, p1, 1));
      reversed.push_back(SectionOf(z1, 0.0, p1, 0.0));
      continue;
    }
    Complex p2 = std::conj(p1);
    if (IsReal(p1)) {
      std::vector<size_t> real_idx;
      for (size_t i = 0; i < poles.size(); ++i) {
        if (IsReal(poles[i])) real_idx.push_back(i);
      }
      std::vector<Complex> real_poles;
      for (size_t i : real_idx) real_poles.push_back(poles[i]);
      p2 = take(&poles, real_idx[WorstPole(real_poles)]);
    }
    const Complex z1 = take(&zeros, NearestIndex(zeros, p1, 0));
    if (!IsReal(z1)) {
      reversed.push_back(SectionOf(z1, std::conj(z1), p1, p2));
    } else {
      const Complex z2 = zeros.empty() ? Complex(0.0) : take(&zeros, NearestIndex(zeros, p1, 1));
      reversed.push_back(SectionOf(z1, z2, p1, p2));
    }
  }
  std::vector<Biquad> sections(reversed.rbegin(), reversed.rend());
  sections.front().b0 *= gain;
  sections.front().b1 *= gain;
  sections.front().b2 *= gain;
  return sections;
}

}  // namespace

std::vector<Biquad> DesignButterworthLowpass(int corners, double cutoff_hz, double rate_hz) {
  assert(corners > 0 && cutoff_hz > 0);
  // ObsPy clamps a cutoff above Nyquist to Nyquist.
  const double warped = Prewarp(std::min(cutoff_hz / (0.5 * rate_hz), 1.0));
  std::vector<Complex> analog;
  for (const Complex& p : PrototypePoles(corners)) analog.push_back(warped * p);  // lp2lp; gain warped^N
  Complex denominator;
  std::vector<Complex> digital = BilinearPoles(analog, &denominator);
  // The corners zeros at infinity map to z = -1; bilinear gain warped^N / Π(4 - p).
  const double gain = (std::pow(warped, corners) / denominator).real();
  return ZpkToSections(std::vector<Complex>(static_cast<size_t>(corners), -1.0), digital, gain);
}

std::vector<Biquad> DesignButterworthHighpass(int corners, double cutoff_hz, double rate_hz) {
  assert(corners > 0 && cutoff_hz > 0 && cutoff_hz < 0.5 * rate_hz);
  const double warped = Prewarp(cutoff_hz / (0.5 * rate_hz));
  std::vector<Complex> analog;
  for (const Complex& p : PrototypePoles(corners)) analog.push_back(warped / p);  // lp2hp; gain stays 1
  Complex denominator;
  std::vector<Complex> digital = BilinearPoles(analog, &denominator);
  // The corners zeros at s = 0 map to z = 1; bilinear gain 4^N / Π(4 - p).
  const double gain = (std::pow(4.0, corners) / denominator).real();
  return ZpkToSections(std::vector<Complex>(static_cast<size_t>(corners), 1.0), digital, gain);
}

std::vector<Biquad> DesignButterworthBandpass(int corners, double low_hz, double high_hz, double rate_hz) {
  assert(corners > 0 && low_hz > 0 && low_hz < high_hz && high_hz < 0.5 * rate_hz);
  const double nyquist = 0.5 * rate_hz;
  const double w1 = Prewarp(low_hz / nyquist), w2 = Prewarp(high_hz / nyquist);
  const double bandwidth = w2 - w1, centre = std::sqrt(w1 * w2);
  // lp2bp: each prototype pole p becomes p·bw/2 ± sqrt((p·bw/2)² - wo²); corners zeros at s = 0.
  std::vector<Complex> analog;
  for (const Complex& p : PrototypePoles(corners)) {
    const Complex scaled = p * (bandwidth / 2.0);
    const Complex root = std::sqrt(scaled * scaled - centre * centre);
    analog.push_back(scaled + root);
    analog.push_back(scaled - root);
  }
  Complex denominator;
  std::vector<Complex> digital = BilinearPoles(analog, &denominator);
  // Zeros: corners at z = 1 (from s = 0) and corners at z = -1 (from infinity), one of each per
  // section; gain bw^N · 4^N / Π(4 - p).
  const double gain = (std::pow(bandwidth * 4.0, corners) / denominator).real();
  std::vector<Complex> zeros(static_cast<size_t>(corners), 1.0);
  zeros.insert(zeros.end(), static_cast<size_t>(corners), -1.0);
  return ZpkToSections(zeros, digital, gain);
}

Status DesignObspyBandpass(int corners, double low_hz, double high_hz, double rate_hz, std::vector<Biquad>* sections,
                           std::string* note) {
  const double nyquist = 0.5 * rate_hz;
  if (low_hz >= nyquist || low_hz <= 0.0) {
    return Status::InvalidArgument("band-pass low corner " + HzText(low_hz) + " is not between 0 and Nyquist (" +
                                   HzText(nyquist) + ")");
  }
  if (high_hz / nyquist - 1.0 > -1e-6) {
    *note = "band-pass high corner " + HzText(high_hz) + " is at or above Nyquist (" + HzText(nyquist) +
            "): a high-pass at " + HzText(low_hz) + " instead";
    *sections = DesignButterworthHighpass(corners, low_hz, rate_hz);
    return Status::OK();
  }
  *sections = DesignButterworthBandpass(corners, low_hz, high_hz, rate_hz);
  return Status::OK();
}

namespace {

// Sections filtered in one pass (more: one pass per section).
constexpr size_t kMaxSections = 8;

// The cascade over samples[0, n) forward, or from the last sample to the first (`backward`): all
// sections in one pass, each sample through them in order. Every section does the same arithmetic
// on the same values as one pass per section would (bit-identical), but their dependency chains
// overlap and the samples are read once: twice as fast for two sections.
void FilterPass(const std::vector<Biquad>& sections, bool backward, std::vector<double>* samples) {
  if (sections.size() > kMaxSections) {
    for (const Biquad& s : sections) FilterPass({s}, backward, samples);
    return;
  }
  const size_t n = sections.size();
  const int64_t count = static_cast<int64_t>(samples->size());
  double z1[kMaxSections] = {}, z2[kMaxSections] = {};  // transposed direct form II states
  double* data = samples->data();
  for (int64_t i = 0; i < count; ++i) {
    double& x = data[backward ? count - 1 - i : i];
    double v = x;
    for (size_t k = 0; k < n; ++k) {
      const Biquad& s = sections[k];
      const double y = s.b0 * v + z1[k];
      z1[k] = s.b1 * v - s.a1 * y + z2[k];
      z2[k] = s.b2 * v - s.a2 * y;
      v = y;
    }
    x = v;
  }
}

// Up to kFilterLanes signals filtered at once, in place: signal s in lane s of a vector, its
// samples at rows start[s]..n (right-aligned: the zeros before it leave the zero initial state
// exactly zero, so its samples see the arithmetic of FilterPass). A lane without a signal repeats
// lane `longest` (same values, same results, stored twice). Forward then backward, as FilterPass.
// Where every lane has begun, four rows are read and written at a time as vectors of each signal,
// transposed into rows (lane by lane, the loads and stores of 8 rows took more time than the
// recurrence on an AVX2 core). The loads and stores overlap the recurrence's wait on its last result.
// This file is compiled with -ffp-contract=off (CMakeLists.txt): no multiply-add is fused, so every
// lane rounds as FilterPass does, whichever clone runs and whatever the target.
constexpr size_t kFilterLanes = 8;
constexpr size_t kBlockRows = kLanes4;

// Lanes 0–3 and 4–7, as two vectors of four (dsp/double_lanes.h says why not one of eight).
struct FilterLanes {
  Lanes4 lo, hi;
};
[[gnu::always_inline]] inline FilterLanes operator*(double c, const FilterLanes& v) { return {c * v.lo, c * v.hi}; }
[[gnu::always_inline]] inline FilterLanes operator+(const FilterLanes& a, const FilterLanes& b) {
  return {a.lo + b.lo, a.hi + b.hi};
}
[[gnu::always_inline]] inline FilterLanes operator-(const FilterLanes& a, const FilterLanes& b) {
  return {a.lo - b.lo, a.hi - b.hi};
}

struct LaneSignals {
  double* data[kFilterLanes];
  size_t start[kFilterLanes];
  size_t rows;     // n
  size_t started;  // the first row at which every lane has begun
};

// One row of every lane through the cascade, in order (FilterPass's arithmetic).
[[gnu::always_inline]] inline FilterLanes Cascade(const std::vector<Biquad>& sections, FilterLanes v, FilterLanes* z1,
                                                  FilterLanes* z2) {
  for (size_t k = 0; k < sections.size(); ++k) {
    const Biquad& b = sections[k];
    const FilterLanes y = b.b0 * v + z1[k];
    z1[k] = b.b1 * v - b.a1 * y + z2[k];
    z2[k] = b.b2 * v - b.a2 * y;
    v = y;
  }
  return v;
}

// Rows [from, to) one at a time, in the given direction; kStarted: every lane has begun at these rows.
template <bool kStarted>
[[gnu::always_inline]] inline void FilterRows(const std::vector<Biquad>& sections, const LaneSignals& x, size_t from,
                                              size_t to, bool backward, FilterLanes* z1, FilterLanes* z2) {
  double values[kFilterLanes];
  for (size_t i = from; i < to; ++i) {
    const size_t row = backward ? to - 1 - (i - from) : i;
    for (size_t s = 0; s < kFilterLanes; ++s) {
      values[s] = kStarted || row >= x.start[s] ? x.data[s][row - x.start[s]] : 0.0;
    }
    const FilterLanes v = Cascade(sections, {Load4(values), Load4(values + 4)}, z1, z2);
    Store4(values, v.lo);
    Store4(values + 4, v.hi);
    for (size_t s = 0; s < kFilterLanes; ++s) {
      if (kStarted || row >= x.start[s]) x.data[s][row - x.start[s]] = values[s];
    }
  }
}

// Rows [from, to), where every lane has begun, in the given direction: blocks of kBlockRows rows
// (from the end backward), then the rows left one at a time.
[[gnu::always_inline]] inline void FilterStartedRows(const std::vector<Biquad>& sections, const LaneSignals& x,
                                                     size_t from, size_t to, bool backward, FilterLanes* z1,
                                                     FilterLanes* z2) {
  const size_t blocks = (to - from) / kBlockRows;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t first = backward ? to - (b + 1) * kBlockRows : from + b * kBlockRows;
    Lanes4 lo[kBlockRows], hi[kBlockRows];  // lanes' samples, then (transposed) rows
    for (size_t s = 0; s < kLanes4; ++s) {
      lo[s] = Load4(x.data[s] + first - x.start[s]);
      hi[s] = Load4(x.data[s + kLanes4] + first - x.start[s + kLanes4]);
    }
    Transpose4(lo);
    Transpose4(hi);
    for (size_t r = 0; r < kBlockRows; ++r) {
      const size_t row = backward ? kBlockRows - 1 - r : r;
      const FilterLanes v = Cascade(sections, {lo[row], hi[row]}, z1, z2);
      lo[row] = v.lo;
      hi[row] = v.hi;
    }
    Transpose4(lo);
    Transpose4(hi);
    for (size_t s = 0; s < kLanes4; ++s) {
      Store4(x.data[s] + first - x.start[s], lo[s]);
      Store4(x.data[s + kLanes4] + first - x.start[s + kLanes4], hi[s]);
    }
  }
  const size_t rest = (to - from) % kBlockRows;
  if (backward) {
    FilterRows<true>(sections, x, from, from + rest, true, z1, z2);
  } else {
    FilterRows<true>(sections, x, to - rest, to, false, z1, z2);
  }
}

RAPID_VECTOR_LOOPS void FilterLanesZeroPhase(const std::vector<Biquad>& sections, const LaneSignals& x) {
  assert(sections.size() <= kMaxSections);
  FilterLanes z1[kMaxSections] = {}, z2[kMaxSections] = {};
  FilterRows<false>(sections, x, 0, x.started, /*backward=*/false, z1, z2);
  FilterStartedRows(sections, x, x.started, x.rows, /*backward=*/false, z1, z2);
  for (size_t k = 0; k < kMaxSections; ++k) z1[k] = z2[k] = FilterLanes{};
  FilterStartedRows(sections, x, x.started, x.rows, /*backward=*/true, z1, z2);
  FilterRows<false>(sections, x, 0, x.started, /*backward=*/true, z1, z2);
}

}  // namespace

void FilterSections(const std::vector<Biquad>& sections, std::vector<double>* samples) {
  FilterPass(sections, /*backward=*/false, samples);
}

// Filtering the reversed samples and reversing back is one pass from the end.
void FilterSectionsZeroPhase(const std::vector<Biquad>& sections, std::vector<double>* samples) {
  FilterPass(sections, /*backward=*/false, samples);
  FilterPass(sections, /*backward=*/true, samples);
}

void FilterSectionsZeroPhase(const std::vector<Biquad>& sections, const std::vector<std::vector<double>*>& signals) {
  for (size_t first = 0; first < signals.size(); first += kFilterLanes) {
    const size_t count = std::min(kFilterLanes, signals.size() - first);
    if (count == 1 || sections.size() > kMaxSections) {
      for (size_t s = 0; s < count; ++s) FilterSectionsZeroPhase(sections, signals[first + s]);
      continue;
    }
    size_t longest = first;
    for (size_t s = first; s < first + count; ++s) {
      if (signals[s]->size() > signals[longest]->size()) longest = s;
    }
    LaneSignals x;
    x.rows = signals[longest]->size();
    x.started = 0;
    for (size_t s = 0; s < kFilterLanes; ++s) {
      std::vector<double>& signal = *signals[s < count ? first + s : longest];
      x.data[s] = signal.data();
      x.start[s] = x.rows - signal.size();
      x.started = std::max(x.started, x.start[s]);
    }
    FilterLanesZeroPhase(sections, x);
  }
}

}  // namespace rapid
