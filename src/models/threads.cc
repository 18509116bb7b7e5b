#include "models/threads.h"

#include <ATen/Parallel.h>

namespace rapid {

void SetIntraOpThreads(int threads) { at::set_num_threads(threads); }

}  // namespace rapid
