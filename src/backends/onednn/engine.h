// The one oneDNN CPU engine every primitive of the oneDNN backend is created on.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace rapid::onednn {

const dnnl::engine& CpuEngine();

}  // namespace rapid::onednn
