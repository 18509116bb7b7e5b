// The forward DFT down the columns of a block of kFftColumns columns, the building block of
// dsp/complex_fft.h's transforms. Values are held split (real parts in one array, imaginary parts
// in another, row-major: row r, column c at r·kFftColumns + c), so every step of the transform is
// the same arithmetic on kFftColumns adjacent doubles and vectorises without shuffles.
// Algorithm: Stockham's self-sorting mixed-radix FFT (no bit reversal; each pass reads one buffer
// and writes the other), with butterflies of radix 2, 3, 4 and 5 and a direct O(p²) butterfly for
// any other prime factor p.
// Thread safety: a built ColumnFft is immutable; Run may be called from several threads at once.
#pragma once

#include <cmath>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <vector>

namespace rapid {

// e^{-2πi·num/den}, with num reduced modulo den first so the angle stays within one turn.
inline std::complex<double> UnitRoot(uint64_t num, uint64_t den) {
  const double turns = static_cast<double>(num % den) / static_cast<double>(den);
  return std::polar(1.0, -2.0 * std::numbers::pi * turns);
}

// Columns transformed at once: four vectors of four doubles (dsp/double_lanes.h) per row and part.
inline constexpr size_t kFftColumns = 16;

// rows × kFftColumns values, split into real and imaginary parts (not owned).
struct SplitBlock {
  double* re;
  double* im;
};

class ColumnFft {
 public:
  // REQUIRES: rows >= 1.
  explicit ColumnFft(size_t rows);

  // Replaces each column x of `data` by X[k] = Σ_j x[j] e^{-2πi jk/rows}, using `spare` (the same
  // size) as scratch, and returns whichever of the two blocks holds the result.
  SplitBlock Run(SplitBlock data, SplitBlock spare) const;

  size_t rows() const { return rows_; }
  size_t Bytes() const;

 private:
  // One Stockham pass: butterflies of `radix` over sub-transforms of length `span` (the product of
  // the earlier passes' radices).
  struct Pass {
    size_t radix, span;
    std::vector<double> twiddle_re, twiddle_im;  // e^{-2πi·r·k/(span·radix)} at k·(radix-1) + r-1
    std::vector<double> root_re, root_im;        // e^{-2πi·m/radix}, m < radix (radix above 5)
  };

  size_t rows_;
  std::vector<Pass> passes_;
};

}  // namespace rapid
