#include "golden_file.h"

#include <ATen/ATen.h>

#include <stdexcept>

#include "models/state_dict_reader.h"
#include "stored_tensor_aten.h"

namespace rapid {
namespace {

// The golden files are read with RAPID's own torch.save reader, not torch::jit::pickle_load:
// libtorch 1.13's unpickler lacks the APPEND opcode that Python emits for one-element lists
// (e.g. `labels: ['P']` of eqcct_p, cred_random), so it fails on some of these files.
PyValue LoadDict(const std::string& path) {
  PyValue root;
  Status status = ReadTorchSave(path, &root);
  if (!status.ok()) throw std::runtime_error(status.ToString());
  if (root.kind != PyValue::Kind::kDict) {
    throw std::runtime_error(path + ": top-level object is a " + PyKindName(root.kind) + ", not a dict");
  }
  for (const auto& [key, value] : root.entries) {
    if (key.kind != PyValue::Kind::kString) throw std::runtime_error(path + ": a top-level key is not a str");
  }
  return root;
}

}  // namespace

void GoldenFile::Fail(const std::string& key, const std::string& what) const {
  throw std::runtime_error(path_ + ": key '" + key + "' " + what);
}

bool GoldenFile::Has(const std::string& key) const {
  for (const auto& k : keys_) {
    if (k == key) return true;
  }
  return false;
}

at::Tensor GoldenFile::Tensor(const std::string& key) const {
  auto it = tensors_.find(key);
  if (it == tensors_.end()) {
    Fail(key, named_.count(key) ? "is a dict of tensors; use Named() or Tensor(key, name)"
                                : "is missing or not a tensor");
  }
  return it->second;
}

at::Tensor GoldenFile::Tensor(const std::string& key, const std::string& name) const {
  for (const auto& [n, t] : Named(key)) {
    if (n == name) return t;
  }
  Fail(key, "has no tensor named '" + name + "'");
}

bool GoldenFile::HasNamedTensors(const std::string& key) const { return named_.count(key) > 0; }

const NamedTensors& GoldenFile::Named(const std::string& key) const {
  auto it = named_.find(key);
  if (it == named_.end()) Fail(key, "is missing or not a dict of tensors");
  return it->second;
}

std::string GoldenFile::String(const std::string& key) const {
  auto it = strings_.find(key);
  if (it == strings_.end()) Fail(key, "is missing or not a string");
  return it->second;
}

std::vector<std::string> GoldenFile::StringList(const std::string& key) const {
  auto it = string_lists_.find(key);
  if (it == string_lists_.end()) Fail(key, "is missing or not a list of strings");
  return it->second;
}

GoldenFile LoadGoldenFile(const std::string& path) {
  const PyValue root = LoadDict(path);
  GoldenFile golden;
  golden.path_ = path;
  for (const auto& [k, value] : root.entries) {
    const std::string& key = k.string_value;
    golden.keys_.push_back(key);
    if (value.kind == PyValue::Kind::kTensor) {
      golden.tensors_[key] = ToAtTensor(value.tensor);
    } else if (value.kind == PyValue::Kind::kString) {
      golden.strings_[key] = value.string_value;
    } else if (value.kind == PyValue::Kind::kList) {
      std::vector<std::string> strings;
      for (const PyValue& item : value.items) {
        if (item.kind != PyValue::Kind::kString) break;
        strings.push_back(item.string_value);
      }
      if (strings.size() == value.items.size()) golden.string_lists_[key] = std::move(strings);
    } else if (value.kind == PyValue::Kind::kDict) {
      NamedTensors named;
      for (const auto& [name, t] : value.entries) {
        if (name.kind != PyValue::Kind::kString || t.kind != PyValue::Kind::kTensor) break;
        named.emplace_back(name.string_value, ToAtTensor(t.tensor));
      }
      if (named.size() == value.entries.size()) golden.named_[key] = std::move(named);
    }
  }
  return golden;
}

std::map<std::string, AnnotationTrace> LoadAnnotationGolden(const std::string& path) {
  const PyValue root = LoadDict(path);
  std::map<std::string, AnnotationTrace> traces;
  for (const auto& [k, fields] : root.entries) {
    const std::string& key = k.string_value;
    auto fail = [&](const std::string& what) { throw std::runtime_error(path + ": trace '" + key + "' " + what); };
    auto field = [&](const char* name) -> const PyValue& {
      const PyValue* v = fields.Find(name);
      if (v == nullptr) fail(std::string("has no '") + name + "' (or is not a dict)");
      return *v;
    };
    AnnotationTrace trace;
    const PyValue& data = field("data");
    if (data.kind != PyValue::Kind::kTensor || data.tensor.dtype != DType::kFloat || data.tensor.shape.size() != 1) {
      fail("'data' is not a 1-D float32 tensor");
    }
    trace.data = data.tensor.ToFloat();
    const PyValue& starttime = field("starttime");
    if (starttime.kind != PyValue::Kind::kString) fail("'starttime' is not a str");
    trace.starttime = starttime.string_value;
    const PyValue& rate = field("sampling_rate");
    if (rate.kind == PyValue::Kind::kFloat) {
      trace.sampling_rate = rate.float_value;
    } else if (rate.kind == PyValue::Kind::kInt) {
      trace.sampling_rate = static_cast<double>(rate.int_value);
    } else {
      fail("'sampling_rate' is not a number");
    }
    traces.emplace(key, std::move(trace));
  }
  return traces;
}

at::Tensor SeisBenchCredWindows(const GoldenFile& golden) {
  const at::Tensor raw = golden.Tensor("raw").contiguous();
  const at::Tensor demeaned = raw - raw.mean({-1}, /*keepdim=*/true);
  return (demeaned / (demeaned.std({-2, -1}, /*unbiased=*/true, /*keepdim=*/true) + 1e-10)).contiguous();
}

}  // namespace rapid
