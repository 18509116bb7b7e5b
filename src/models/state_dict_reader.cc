#include "models/state_dict_reader.h"

#include <ATen/ATen.h>
#include <caffe2/serialize/inline_container.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string_view>
#include <utility>

#include "models/torch_pickle.h"

namespace rapid {

namespace {

using torch_pickle::Kind;
using torch_pickle::KindName;
using torch_pickle::Value;

// The pickle PROTO opcode, the first byte of a legacy (non-zip) torch.save file.
constexpr uint8_t kPickleProto = 0x80;

Status CheckZipMagic(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::IOError(path + ": cannot open for reading");
  char magic[4] = {0, 0, 0, 0};
  file.read(magic, sizeof(magic));
  if (file.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return Status::OK();
  if (file.gcount() >= 2 && static_cast<uint8_t>(magic[0]) == kPickleProto) {
    return Status::Corruption(path + ": legacy (non-zip) torch.save format is not supported; re-save it with "
                                     "torch.save(obj, path) from torch >= 1.6");
  }
  return Status::Corruption(path + ": not a zip archive (expected a torch.save file)");
}

// Copies the interpreter's object graph (which memo references may share or even make cyclic)
// into a PyValue tree. Depth and node count are bounded so that a hostile pickle can neither
// recurse forever nor expand shared references exponentially.
class TreeBuilder {
 public:
  explicit TreeBuilder(std::string where) : where_(std::move(where)) {}

  Status Build(const Value* v, PyValue* out, int depth = 0) {
    if (depth > kMaxDepth) return Status::Corruption(where_ + ": objects nested too deeply (or cyclically)");
    if (++nodes_ > kMaxNodes) return Status::Corruption(where_ + ": too many objects (shared references?)");
    switch (v->kind) {
      case Kind::kNone: out->kind = PyValue::Kind::kNone; break;
      case Kind::kBool:
        out->kind = PyValue::Kind::kBool;
        out->bool_value = v->bool_value;
        break;
      case Kind::kInt:
        out->kind = PyValue::Kind::kInt;
        out->int_value = v->int_value;
        break;
      case Kind::kFloat:
        out->kind = PyValue::Kind::kFloat;
        out->float_value = v->float_value;
        break;
      case Kind::kString:
        out->kind = PyValue::Kind::kString;
        out->string_value = v->str;
        break;
      case Kind::kTuple:
      case Kind::kList:
        out->kind = v->kind == Kind::kTuple ? PyValue::Kind::kTuple : PyValue::Kind::kList;
        out->items.resize(v->items.size());
        for (size_t i = 0; i < v->items.size(); ++i) {
          RAPID_RETURN_IF_ERROR(Build(v->items[i], &out->items[i], depth + 1));
        }
        break;
      case Kind::kDict:
        out->kind = PyValue::Kind::kDict;
        out->entries.resize(v->dict.size());
        for (size_t i = 0; i < v->dict.size(); ++i) {
          RAPID_RETURN_IF_ERROR(Build(v->dict[i].first, &out->entries[i].first, depth + 1));
          RAPID_RETURN_IF_ERROR(Build(v->dict[i].second, &out->entries[i].second, depth + 1));
        }
        break;
      case Kind::kTensor:
        out->kind = PyValue::Kind::kTensor;
        out->tensor = v->tensor;
        break;
      case Kind::kGlobal:
      case Kind::kStorage:
        return Status::Corruption(where_ + ": the saved object contains a bare " + KindName(v->kind) +
                                  (v->kind == Kind::kGlobal ? " '" + v->str + "'" : std::string()));
    }
    return Status::OK();
  }

 private:
  static constexpr int kMaxDepth = 64;
  static constexpr size_t kMaxNodes = size_t{1} << 24;
  std::string where_;
  size_t nodes_ = 0;
};

Status ReadTorchSaveImpl(const std::string& path, PyValue* out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::NotFound(path + ": no such file");
  RAPID_RETURN_IF_ERROR(CheckZipMagic(path));

  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    return Status::Corruption(path + ": not a readable torch zip archive: " + e.what_without_backtrace());
  }
  if (!reader->hasRecord("data.pkl")) {
    return Status::Corruption(path + ": archive has no data.pkl record (a TorchScript archive, not torch.save?)");
  }
  auto [pickle_ptr, pickle_bytes] = reader->getRecord("data.pkl");

  torch_pickle::RecordLoader records;
  records.has_record = [&](const std::string& name) { return reader->hasRecord(name); };
  records.get_record = [&](const std::string& name) {
    auto [data_ptr, bytes] = reader->getRecord(name);
    return std::make_pair(std::move(data_ptr), bytes);
  };
  torch_pickle::Graph graph;
  RAPID_RETURN_IF_ERROR(torch_pickle::RunTorchPickle(
      std::string_view(static_cast<const char*>(pickle_ptr.get()), pickle_bytes), records, path + ": data.pkl", &graph));
  return TreeBuilder(path + ": data.pkl").Build(graph.root, out);
}

// libtorch reports failures (zip errors, short reads, allocation) as exceptions; they stop here.
template <typename Fn>
Status CatchAll(const std::string& path, Fn&& fn) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    return Status::Corruption(path + ": " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(path + ": out of memory while reading");
  } catch (const std::exception& e) {
    return Status::Corruption(path + ": " + e.what());
  }
}

}  // namespace

const char* PyKindName(PyValue::Kind kind) {
  switch (kind) {
    case PyValue::Kind::kNone: return "None";
    case PyValue::Kind::kBool: return "bool";
    case PyValue::Kind::kInt: return "int";
    case PyValue::Kind::kFloat: return "float";
    case PyValue::Kind::kString: return "str";
    case PyValue::Kind::kTuple: return "tuple";
    case PyValue::Kind::kList: return "list";
    case PyValue::Kind::kDict: return "dict";
    case PyValue::Kind::kTensor: return "tensor";
  }
  return "?";
}

const PyValue* PyValue::Find(const std::string& key) const {
  if (kind != Kind::kDict) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k.kind == Kind::kString && k.string_value == key) return &v;
  }
  return nullptr;
}

const at::Tensor* StateDict::Find(const std::string& name) const {
  for (const auto& entry : entries) {
    if (entry.first == name) return &entry.second;
  }
  return nullptr;
}

std::vector<std::string> StateDict::Keys() const {
  std::vector<std::string> keys;
  keys.reserve(entries.size());
  for (const auto& entry : entries) keys.push_back(entry.first);
  return keys;
}

Status ReadTorchSave(const std::string& path, PyValue* out) {
  *out = PyValue();
  Status status = CatchAll(path, [&] { return ReadTorchSaveImpl(path, out); });
  if (!status.ok()) *out = PyValue();
  return status;
}

Status ReadStateDict(const std::string& path, StateDict* out) {
  out->entries.clear();
  PyValue root;
  RAPID_RETURN_IF_ERROR(ReadTorchSave(path, &root));
  if (root.kind != PyValue::Kind::kDict) {
    return Status::InvalidArgument(path + ": top-level object is a " + PyKindName(root.kind) + ", not a dict");
  }
  for (auto& [key, value] : root.entries) {
    Status status;
    if (key.kind != PyValue::Kind::kString) {
      status = Status::InvalidArgument(path + ": a key is a " + PyKindName(key.kind) + ", not a str");
    } else if (value.kind != PyValue::Kind::kTensor) {
      status = Status::InvalidArgument(path + ": entry '" + key.string_value + "' is a " + PyKindName(value.kind) +
                                       ", not a tensor");
    }
    if (!status.ok()) {
      out->entries.clear();
      return status;
    }
    out->entries.emplace_back(std::move(key.string_value), std::move(value.tensor));
  }
  return Status::OK();
}

}  // namespace rapid
