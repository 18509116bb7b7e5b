#include "models/threads.h"

#include <ATen/Parallel.h>

namespace rapid {

void SetIntraOpThreads(int threads) { at::set_num_threads(threads); }
int IntraOpThreads() { return at::get_num_threads(); }

}  // namespace rapid
