// The one oneDNN CPU engine every primitive of the oneDNN backend is created on, and what kind of
// kernels oneDNN runs on it.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <optional>

#include "backends/onednn/conv_lowering.h"

namespace rapid::onednn {

const dnnl::engine& CpuEngine();

// AVX-512 when oneDNN may use AVX-512 core instructions here (the CPU has them and ONEDNN_MAX_CPU_ISA
// does not forbid them), else AVX2: which cost model picks output phases (conv_lowering.h).
inline ConvIsa HostConvIsa() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & avx512) == avx512 ? ConvIsa::kAvx512 : ConvIsa::kAvx2;
}

// The cost model whose phase counts CompileOnednn uses: HostConvIsa(), unless a test set another.
// oneDNN's kernels stay the host's either way, and outputs do not depend on the phase counts, so a
// test on one machine can check the lowering another machine would choose. Not synchronised: set
// before compiling, from one thread; nullopt goes back to the host's.
ConvIsa LoweringConvIsa();
void SetLoweringConvIsaForTesting(std::optional<ConvIsa> isa);

}  // namespace rapid::onednn
