// Test helper: reads the SeisBench golden files under tests/data/golden (see
// ../shared/golden/README.md for their contents).
//
// Both kinds are `torch.save` files of a plain dict. They are read with ReadTorchSave
// (models/state_dict_reader.h), not torch::jit::pickle_load: libtorch 1.13's unpickler lacks the
// APPEND opcode Python emits for one-element lists, so it fails on e.g. the eqcct and cred goldens.
//
// Errors: these helpers are for tests only, so they throw std::runtime_error (naming the file and
// the key) instead of returning Status; GoogleTest reports an escaped exception as a test failure.
// Thread safety: a GoldenFile is an immutable value once loaded.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rapid {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// One golden forward file: a dict with tensors (`raw`, `input`, `output`, `output_logits`),
// strings (`model`, `model_class`, `weights`, `normalization`, `note`), string lists (`labels`,
// `window_sources`) and, for models with several outputs, a dict label -> tensor (`output`,
// `output_logits` of EQTransformer). Entries of other types (`model_args`) appear in Keys() only.
// Tensors are contiguous CPU tensors of the stored dtype that own their memory.
class GoldenFile {
 public:
  // Every top-level key, in file order.
  const std::vector<std::string>& Keys() const { return keys_; }
  const std::string& path() const { return path_; }
  bool Has(const std::string& key) const;

  // The tensor stored under `key`. Throws if absent or not a tensor (e.g. a dict-valued output).
  at::Tensor Tensor(const std::string& key) const;
  // Tensor `name` of the dict-valued entry `key` (e.g. Tensor("output", "P")). Throws if absent.
  at::Tensor Tensor(const std::string& key, const std::string& name) const;
  // True when `key` holds a dict of named tensors.
  bool HasNamedTensors(const std::string& key) const;
  // The (name, tensor) pairs of a dict-valued entry, in file order. Throws if absent. The
  // reference is valid while this GoldenFile lives.
  const NamedTensors& Named(const std::string& key) const;
  std::string String(const std::string& key) const;
  std::vector<std::string> StringList(const std::string& key) const;

 private:
  friend GoldenFile LoadGoldenFile(const std::string& path);
  [[noreturn]] void Fail(const std::string& key, const std::string& what) const;

  std::string path_;
  std::vector<std::string> keys_;
  std::map<std::string, at::Tensor> tensors_;
  std::map<std::string, NamedTensors> named_;
  std::map<std::string, std::string> strings_;
  std::map<std::string, std::vector<std::string>> string_lists_;
};

// Reads a golden forward file. Throws std::runtime_error naming `path` when the file is missing,
// unreadable, or not a torch.save of a dict with string keys.
GoldenFile LoadGoldenFile(const std::string& path);

// CRED's golden windows: the golden's "raw" windows (batch × 3 × 3000) normalised as SeisBench's
// annotate_batch_pre does it, in float32 libtorch: demean per channel, divide by one unbiased std
// over channels and samples (+ 1e-10).
at::Tensor SeisBenchCredWindows(const GoldenFile& golden);

// One continuous probability trace of an annotate golden, as SeisBench's annotate() returns it.
struct AnnotationTrace {
  std::vector<float> data;     // probabilities, one per sample
  std::string starttime;       // ISO-8601 UTC as ObsPy prints it, e.g. "2024-12-15T11:58:00.000000Z"
  double sampling_rate = 0.0;  // Hz
};

// Reads an annotate golden: a dict keyed "NET.STA.LOC.<Model>_<label>" (e.g.
// "TX.DG05.00.PhaseNet_P") -> {"data": float32 (n,), "starttime": str, "sampling_rate": float}.
// Throws std::runtime_error naming `path` (and the key) on a missing file or any other shape.
std::map<std::string, AnnotationTrace> LoadAnnotationGolden(const std::string& path);

}  // namespace rapid
