// RAPID_VECTOR_LOOPS marks a function of plain float loops to be compiled once per x86-64 level
// (AVX-512, AVX2, baseline) with the one this CPU supports chosen when the library loads (GCC's
// target_clones). RAPID is built for baseline x86-64, where such loops vectorise with SSE2 only;
// oneDNN's own kernels choose their instructions at run time the same way. Elsewhere (another
// compiler or architecture) the mark is empty and the function is compiled once.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define RAPID_VECTOR_LOOPS __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RAPID_VECTOR_LOOPS
#endif
