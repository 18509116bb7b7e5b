// Intra-op thread count of the inference library (process-wide).
#pragma once

namespace rapid {

// Sets the number of threads one forward call may use. REQUIRES: threads >= 1.
void SetIntraOpThreads(int threads);
int IntraOpThreads();

}  // namespace rapid
