// Process-wide facts and settings of the inference library.
#pragma once

namespace rapid {

// Sets the number of threads one forward call may use. REQUIRES: threads >= 1.
void SetIntraOpThreads(int threads);

}  // namespace rapid
