// Resampling to a model's rate with SeisBench's rules (WaveformModel.resample):
//  - rate equal to the target: unchanged;
//  - rate an integer multiple of the target: 4-corner Butterworth low-pass at target/2,
//    zero phase, then every k-th sample (start time unchanged);
//  - otherwise: ObsPy's Trace.resample(no_filter=True): Hann-windowed frequency-domain
//    resampling of the whole segment with linear interpolation of the spectrum.
// Resampling acts on a whole continuous segment; callers resample each segment separately.
// Thread safety: pure functions.
#pragma once

#include <vector>

#include "core/status.h"

namespace rapid {

enum class ResampleMethod { kNone, kDecimate, kFourier };

// Which rule applies for `rate_hz` → `target_hz`.
ResampleMethod ChooseResampleMethod(double rate_hz, double target_hz);

// Resamples `samples` (at rate_hz) to target_hz in place. The first output sample keeps the time
// of the first input sample. InvalidArgument for non-positive rates; an empty input stays empty.
Status ResampleSegment(double rate_hz, double target_hz, std::vector<double>* samples);

// ResampleSegment on each of `segments` (all at rate_hz), with the same results bit for bit;
// decimation low-pass filters them together (dsp/butterworth.h, several signals per vector).
Status ResampleSegments(double rate_hz, double target_hz, std::vector<std::vector<double>>* segments);

// Output length of the Fourier method for n input samples (ObsPy: int(n / (rate / target))).
int64_t FourierResampledLength(int64_t n, double rate_hz, double target_hz);

// At most the bytes the Fourier method holds at once beyond its n input samples while resampling
// them to n_out (FourierResampledLength), whatever the lengths' prime factors: the spectra, the
// FFTs' buffers (Bluestein's two of about twice a length, for odd lengths without a small factor)
// and plans (with the buffers a plan was built in, which the allocator may keep), the output. Not
// counted: plans already in the FFT plan cache (dsp/fft.h) before the call.
// Checked against the peak resident memory of such resamplings in tests/dsp_test.cc.
int64_t FourierResampleBytesBound(int64_t n, int64_t n_out);

}  // namespace rapid
