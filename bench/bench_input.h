// Input both forward benchmarks feed a model: `batch` windows of unit Gaussian noise (seed 1),
// batch × channels × in_samples float32 — the same numbers in every benchmark.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "models/model_spec.h"

namespace rapid {

inline std::vector<float> NoiseWindows(const ModelSpec& spec, int64_t batch) {
  std::vector<float> input(static_cast<size_t>(batch * spec.Channels() * spec.in_samples));
  std::mt19937 rng(1);
  std::normal_distribution<float> noise;
  for (float& v : input) v = noise(rng);
  return input;
}

}  // namespace rapid
