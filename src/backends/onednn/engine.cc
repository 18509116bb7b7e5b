#include "backends/onednn/engine.h"

namespace rapid::onednn {

namespace {

std::optional<ConvIsa> lowering_isa_override;

}  // namespace

const dnnl::engine& CpuEngine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

ConvIsa LoweringConvIsa() { return lowering_isa_override.value_or(HostConvIsa()); }

void SetLoweringConvIsaForTesting(std::optional<ConvIsa> isa) { lowering_isa_override = isa; }

}  // namespace rapid::onednn
