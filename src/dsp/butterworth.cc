#include "dsp/butterworth.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <complex>
#include <numbers>

namespace rapid {

std::vector<Biquad> DesignButterworthLowpass(int corners, double cutoff_hz, double rate_hz) {
  assert(corners > 0 && corners % 2 == 0);
  using C = std::complex<double>;
  const double pi = std::numbers::pi;
  // Normalised cutoff (fraction of Nyquist); ObsPy clamps values above 1 to 1.
  double wn = std::min(cutoff_hz / (0.5 * rate_hz), 1.0);
  // Pre-warped analog cutoff for the bilinear transform with fs = 2 (scipy's convention).
  const double fs = 2.0;
  const double warped = 2.0 * fs * std::tan(pi * wn / fs);

  // Analog prototype poles in the upper half plane, scaled to the cutoff; each has its conjugate.
  std::vector<C> upper_poles;
  for (int k = 0; k < corners / 2; ++k) {
    double theta = pi * (2.0 * k + corners + 1) / (2.0 * corners);
    upper_poles.push_back(warped * C(std::cos(theta), std::sin(theta)));
  }
  // Bilinear transform: z = (2fs + s) / (2fs - s); zeros at infinity map to z = -1.
  const double fs2 = 2.0 * fs;
  std::vector<C> digital;
  double gain = std::pow(warped, corners);  // analog gain k * wo^N with k = 1
  for (const C& p : upper_poles) {
    digital.push_back((fs2 + p) / (fs2 - p));
    gain /= std::norm(fs2 - p);  // the pole and its conjugate: |2fs - p|^2
  }
  // Sections ordered like scipy's zpk2sos: the pole pair nearest the unit circle last; the
  // overall gain sits in the first section.
  std::sort(digital.begin(), digital.end(), [](const C& a, const C& b) { return std::abs(a) < std::abs(b); });
  std::vector<Biquad> sections;
  for (size_t i = 0; i < digital.size(); ++i) {
    double g = i == 0 ? gain : 1.0;
    const C& p = digital[i];
    sections.push_back({g, 2.0 * g, g, -2.0 * p.real(), std::norm(p)});
  }
  return sections;
}

void FilterSections(const std::vector<Biquad>& sections, std::vector<double>* samples) {
  for (const Biquad& s : sections) {
    double z1 = 0.0, z2 = 0.0;  // transposed direct form II state
    for (double& x : *samples) {
      double y = s.b0 * x + z1;
      z1 = s.b1 * x - s.a1 * y + z2;
      z2 = s.b2 * x - s.a2 * y;
      x = y;
    }
  }
}

void FilterSectionsZeroPhase(const std::vector<Biquad>& sections, std::vector<double>* samples) {
  FilterSections(sections, samples);
  std::reverse(samples->begin(), samples->end());
  FilterSections(sections, samples);
  std::reverse(samples->begin(), samples->end());
}

}  // namespace rapid
