// ObsPy's cosine taper (`Trace.taper(type='cosine')`): the ends of a trace eased in and out so a
// zero-phase filter sees no step at them.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <vector>

namespace rapid {

// Samples tapered at each end by Trace.taper(max_percentage=fraction): int(fraction · n), capped at
// n / 2 (integer division). REQUIRES: fraction >= 0.
int64_t TaperHalfLengthOfFraction(double fraction, int64_t n);

// Samples tapered at each end by Trace.taper(max_percentage=None, max_length=seconds):
// int(seconds · rate_hz), capped at n / 2. REQUIRES: seconds >= 0, rate_hz > 0.
int64_t TaperHalfLengthOfSeconds(double seconds, double rate_hz, int64_t n);

// Multiplies the first and last `half_length` samples by ObsPy's cosine taper: the ends of
// obspy.signal.invsim.cosine_taper(2·half_length + 1, p=1), whose ramps (p = 1 takes
// int(npts / 2) points per side) scale sample i, and sample n−1−i, by
// 0.5·(1 − cos(π·i / (half_length − 1))) for i < half_length: the end samples become 0 and the
// last sample of each ramp 1. half_length 1 zeroes the two end samples; 0 changes nothing.
// REQUIRES: 2·half_length <= samples->size().
void CosineTaperEnds(int64_t half_length, std::vector<double>* samples);

}  // namespace rapid
