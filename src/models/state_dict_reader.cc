#include "models/state_dict_reader.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <new>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "models/torch_archive.h"
#include "models/torch_pickle.h"

namespace rapid {

namespace {

using torch_pickle::Kind;
using torch_pickle::KindName;
using torch_pickle::Value;

// Every tensor of the tree owns a copy of its elements, so memo references to one tensor and
// views sharing one storage multiply the bytes a file can make us allocate. Real files stay near
// 1x their storages (2x with a transposed copy or tied weights); a hostile few kilobytes could
// otherwise ask for terabytes.
constexpr uint64_t kMaxTensorBytesPerStorageByte = 8;
constexpr uint64_t kTensorBytesSlack = uint64_t{1} << 20;

// Copies the interpreter's object graph (which memo references may share or even make cyclic)
// into a PyValue tree. Depth, node count and copied tensor bytes are bounded so that a hostile
// pickle can neither recurse forever nor expand shared references exponentially.
class TreeBuilder {
 public:
  // `storage_bytes`: the bytes of the graph's storages (torch_pickle::Graph::storage_bytes).
  TreeBuilder(std::string where, uint64_t storage_bytes)
      : where_(std::move(where)),
        max_tensor_bytes_(kMaxTensorBytesPerStorageByte * storage_bytes + kTensorBytesSlack) {}

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
        // numel ≤ 2^56 (torch_pickle), so neither the product nor the sum overflows.
        tensor_bytes_ += static_cast<uint64_t>(v->numel) * DTypeSize(v->storage->dtype);
        if (tensor_bytes_ > max_tensor_bytes_) {
          return Status::Corruption(where_ + ": tensors copy out to more than " + std::to_string(max_tensor_bytes_) +
                                    " bytes (shared references or overlapping views?)");
        }
        torch_pickle::CopyTensor(*v, &out->tensor);
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
  uint64_t max_tensor_bytes_;
  uint64_t tensor_bytes_ = 0;
  size_t nodes_ = 0;
};

Status ReadTorchSaveImpl(const std::string& path, PyValue* out) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return Status::NotFound(path + ": no such file");
  std::unique_ptr<TorchArchive> archive;
  RAPID_RETURN_IF_ERROR(TorchArchive::Open(path, &archive));
  uint64_t pickle_bytes = 0;
  if (!archive->Find("data.pkl", &pickle_bytes)) {
    return Status::Corruption(path + ": archive has no data.pkl record (a TorchScript archive, not torch.save?)");
  }
  std::string pickle(pickle_bytes, '\0');
  RAPID_RETURN_IF_ERROR(archive->Read("data.pkl", reinterpret_cast<unsigned char*>(pickle.data()), pickle_bytes));

  torch_pickle::RecordLoader records;
  records.find_record = [&](const std::string& name, uint64_t* bytes) { return archive->Find(name, bytes); };
  records.read_record = [&](const std::string& name, unsigned char* dst, uint64_t bytes) {
    return archive->Read(name, dst, bytes);
  };
  torch_pickle::Graph graph;
  RAPID_RETURN_IF_ERROR(torch_pickle::RunTorchPickle(pickle, records, path + ": data.pkl", &graph));
  return TreeBuilder(path + ": data.pkl", graph.storage_bytes).Build(graph.root, out);
}

// Allocation failures (a huge record, a huge tensor) arrive as std::bad_alloc; they stop here.
template <typename Fn>
Status CatchAll(const std::string& path, Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(path + ": out of memory while reading");
  } catch (const std::length_error&) {
    return Status::ResourceExhausted(path + ": out of memory while reading");
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

const StoredTensor* StateDict::Find(const std::string& name) const {
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
