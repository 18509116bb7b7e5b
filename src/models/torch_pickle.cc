#include "models/torch_pickle.h"

#include <bit>
#include <cstdint>
#include <cstring>

#include "models/torch_pickle_machine.h"

namespace rapid::torch_pickle {

// Pickle integers are read with memcpy (and storage bytes kept as they are): both little-endian.
static_assert(std::endian::native == std::endian::little, "torch_pickle assumes a little-endian host");

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kNone: return "None";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kTuple: return "tuple";
    case Kind::kList: return "list";
    case Kind::kDict: return "dict";
    case Kind::kGlobal: return "global";
    case Kind::kStorage: return "storage";
    case Kind::kTensor: return "tensor";
  }
  return "?";
}

namespace {

struct StorageType {
  const char* name;
  DType dtype;
};

// `torch <Name>Storage` globals and the dtype of their elements.
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", DType::kFloat}, {"DoubleStorage", DType::kDouble}, {"HalfStorage", DType::kHalf},
    {"BFloat16Storage", DType::kBFloat16}, {"LongStorage", DType::kLong}, {"IntStorage", DType::kInt},
    {"ShortStorage", DType::kShort}, {"CharStorage", DType::kChar}, {"ByteStorage", DType::kByte},
    {"BoolStorage", DType::kBool},
};

bool SameKey(const Value* a, const Value* b) {
  if (a->kind != b->kind) return false;
  if (a->kind == Kind::kString) return a->str == b->str;
  if (a->kind == Kind::kInt) return a->int_value == b->int_value;
  return a == b;
}

// True when `strides` lay out `sizes` contiguously in row-major order (extents of 1 may have any
// stride, as in torch's is_contiguous).
bool IsRowMajor(const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
  int64_t expected = 1;
  for (size_t d = sizes.size(); d-- > 0;) {
    if (sizes[d] != 1 && strides[d] != expected) return false;
    expected *= sizes[d];
  }
  return true;
}

// The integers of tuple v; false when v is not a tuple of integers.
bool IntTuple(const Value* v, std::vector<int64_t>* out) {
  if (v->kind != Kind::kTuple) return false;
  out->clear();
  for (const Value* item : v->items) {
    if (item->kind != Kind::kInt) return false;
    out->push_back(item->int_value);
  }
  return true;
}

}  // namespace

Status PickleMachine::SetItems(Value* dict, const std::vector<Value*>& kv) {
  if (dict->kind != Kind::kDict) return Error(std::string("SETITEM(S) on a ") + KindName(dict->kind));
  if (kv.size() % 2 != 0) return Error("SETITEMS with an odd number of items");
  for (size_t i = 0; i < kv.size(); i += 2) {
    bool replaced = false;
    for (auto& entry : dict->dict) {  // Python semantics: a repeated key overwrites in place
      if (SameKey(entry.first, kv[i])) {
        entry.second = kv[i + 1];
        replaced = true;
        break;
      }
    }
    if (!replaced) dict->dict.emplace_back(kv[i], kv[i + 1]);
  }
  return Status::OK();
}

Status PickleMachine::DoGlobal() {
  std::string module, name;
  RAPID_RETURN_IF_ERROR(TakeLine(&module));
  RAPID_RETURN_IF_ERROR(TakeLine(&name));
  Value* v = New(Kind::kGlobal);
  v->str = module + "." + name;
  if (module == "collections" && name == "OrderedDict") {
    v->global = GlobalId::kOrderedDict;
  } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    v->global = GlobalId::kRebuildTensorV2;
  } else {
    bool found = false;
    if (module == "torch") {
      for (const StorageType& st : kStorageTypes) {
        if (name == st.name) {
          v->global = GlobalId::kStorageType;
          v->dtype = st.dtype;
          found = true;
          break;
        }
      }
    }
    if (!found) return Error("pickle names global '" + module + " " + name + "', which a state_dict may not use");
  }
  stack_.push_back(v);
  return Status::OK();
}

// ('storage', <torch XStorage>, key, location, numel) -> the bytes of record data/<key>.
Status PickleMachine::DoPersistentId() {
  Value* pid = nullptr;
  RAPID_RETURN_IF_ERROR(Pop(&pid));
  if (pid->kind != Kind::kTuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::kString ||
      pid->items[0]->str != "storage") {
    return Error("persistent id is not a ('storage', type, key, location, numel) tuple");
  }
  const Value* type = pid->items[1];
  const Value* key = pid->items[2];
  const Value* location = pid->items[3];
  const Value* numel = pid->items[4];
  if (type->kind != Kind::kGlobal || type->global != GlobalId::kStorageType || key->kind != Kind::kString ||
      location->kind != Kind::kString || numel->kind != Kind::kInt || numel->int_value < 0) {
    return Error("malformed storage persistent id");
  }
  auto cached = storages_.find(key->str);
  if (cached != storages_.end()) {
    if (cached->second->dtype != type->dtype) {
      return Error("storage '" + key->str + "' is used with two different element types");
    }
    stack_.push_back(cached->second);
    return Status::OK();
  }
  const std::string record = "data/" + key->str;
  uint64_t record_bytes = 0;
  if (!records_->find_record(record, &record_bytes)) return Error("missing record '" + record + "'");
  const size_t elem_size = DTypeSize(type->dtype);
  const uint64_t count = static_cast<uint64_t>(numel->int_value);
  if (count > SIZE_MAX / elem_size) return Error("storage '" + key->str + "' is impossibly large");
  const size_t expected_bytes = static_cast<size_t>(count) * elem_size;
  if (record_bytes != expected_bytes) {
    return Error("record '" + record + "' holds " + std::to_string(record_bytes) + " bytes, expected " +
                 std::to_string(count) + " x " + std::to_string(elem_size));
  }
  Value* storage = New(Kind::kStorage);
  storage->dtype = type->dtype;
  storage->bytes.resize(expected_bytes);
  RAPID_RETURN_IF_ERROR(records_->read_record(record, storage->bytes.data(), expected_bytes));
  graph_->storage_bytes += expected_bytes;
  storages_.emplace(key->str, storage);
  stack_.push_back(storage);
  return Status::OK();
}



// A bound on a tensor's element count, far above any real one, that keeps numel × element size and
// sums of such sizes within 64 bits.
constexpr int64_t kMaxTensorElements = int64_t{1} << 56;

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).
// backward_hooks and metadata are ignored: nothing in them can run, and inference needs neither.
Status PickleMachine::RebuildTensor(const std::vector<Value*>& args, Value** out) {
  if (args.size() != 6 && args.size() != 7) {
    return Error("_rebuild_tensor_v2 called with " + std::to_string(args.size()) + " arguments, expected 6 or 7");
  }
  const Value* storage = args[0];
  std::vector<int64_t> sizes, strides;
  if (storage->kind != Kind::kStorage || args[1]->kind != Kind::kInt || !IntTuple(args[2], &sizes) ||
      !IntTuple(args[3], &strides) || args[4]->kind != Kind::kBool) {
    return Error("_rebuild_tensor_v2 arguments are not (storage, int, sizes, strides, bool, ...)");
  }
  const int64_t offset = args[1]->int_value;
  if (sizes.size() != strides.size() || offset < 0) return Error("tensor has inconsistent sizes/strides/offset");
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0 || strides[i] < 0) return Error("tensor has a negative size or stride");
  }
  // A non-empty view must reach no element past the storage's end and have a representable
  // element count. Every term is non-negative and checked as it is added, and products are formed
  // in 128 bits, so hostile sizes cannot overflow past the checks.
  const bool empty = std::find(sizes.begin(), sizes.end(), 0) != sizes.end();
  const int64_t storage_numel = static_cast<int64_t>(storage->bytes.size() / DTypeSize(storage->dtype));
  auto outside = [&](__int128 element) {
    return Error("tensor view reaches element " + std::to_string(static_cast<long long>(element)) +
                 " of a storage with " + std::to_string(storage_numel) + " elements");
  };
  __int128 last = offset, numel = empty ? 0 : 1;
  if (!empty && last >= storage_numel) return outside(last);
  for (size_t i = 0; i < sizes.size() && !empty; ++i) {
    last += static_cast<__int128>(sizes[i] - 1) * strides[i];
    if (last >= storage_numel) return outside(last);
    numel *= sizes[i];
    if (numel > kMaxTensorElements) return Error("tensor has more than 2^56 elements");
  }
  Value* t = New(Kind::kTensor);
  t->storage = storage;
  t->offset = empty ? 0 : offset;
  t->numel = static_cast<int64_t>(numel);
  t->sizes = std::move(sizes);
  t->strides = std::move(strides);
  *out = t;
  return Status::OK();
}

Status PickleMachine::DoReduce() {
  Value* args = nullptr;
  Value* callable = nullptr;
  RAPID_RETURN_IF_ERROR(Pop(&args));
  RAPID_RETURN_IF_ERROR(Pop(&callable));
  if (callable->kind != Kind::kGlobal) return Error(std::string("REDUCE on a ") + KindName(callable->kind));
  if (args->kind != Kind::kTuple) return Error("REDUCE arguments are not a tuple");
  Value* result = nullptr;
  switch (callable->global) {
    case GlobalId::kOrderedDict:
      if (!args->items.empty()) return Error("OrderedDict() called with arguments");
      result = New(Kind::kDict);
      break;
    case GlobalId::kRebuildTensorV2:
      RAPID_RETURN_IF_ERROR(RebuildTensor(args->items, &result));
      break;
    case GlobalId::kStorageType:
      return Error("pickle calls '" + callable->str + "'; storages may only arrive as persistent ids");
  }
  stack_.push_back(result);
  return Status::OK();
}

Status RunTorchPickle(std::string_view data_pkl, const RecordLoader& load_record, const std::string& source,
                      Graph* out) {
  out->arena.clear();
  out->root = nullptr;
  out->storage_bytes = 0;
  PickleMachine machine(&load_record, source, reinterpret_cast<const uint8_t*>(data_pkl.data()), data_pkl.size(),
                        out);
  Value* root = nullptr;
  RAPID_RETURN_IF_ERROR(machine.Run(&root));
  out->root = root;
  return Status::OK();
}

void CopyTensor(const Value& tensor, StoredTensor* out) {
  const Value& storage = *tensor.storage;
  const size_t elem_size = DTypeSize(storage.dtype);
  out->dtype = storage.dtype;
  out->shape = tensor.sizes;
  out->bytes.assign(static_cast<size_t>(tensor.numel) * elem_size, 0);
  if (tensor.numel == 0) return;
  const unsigned char* src = storage.bytes.data() + static_cast<size_t>(tensor.offset) * elem_size;
  if (IsRowMajor(tensor.sizes, tensor.strides)) {
    std::memcpy(out->bytes.data(), src, out->bytes.size());
    return;
  }
  // A strided view (a transpose, an expanded dimension): element by element, the last index
  // running fastest.
  const size_t dims = tensor.sizes.size();
  std::vector<int64_t> index(dims, 0);
  unsigned char* dst = out->bytes.data();
  for (int64_t n = 0; n < tensor.numel; ++n, dst += elem_size) {
    int64_t element = 0;
    for (size_t d = 0; d < dims; ++d) element += index[d] * tensor.strides[d];
    std::memcpy(dst, src + static_cast<size_t>(element) * elem_size, elem_size);
    for (size_t d = dims; d-- > 0;) {
      if (++index[d] < tensor.sizes[d]) break;
      index[d] = 0;
    }
  }
}

}  // namespace rapid::torch_pickle
