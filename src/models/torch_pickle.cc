#include "models/torch_pickle.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <unordered_map>

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

// Pickle opcodes (names as in CPython's pickletools).
enum Opcode : uint8_t {
  kMark = '(',
  kStop = '.',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kNone = 'N',
  kBinPersId = 'Q',
  kReduce = 'R',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kSetItems = 'u',
  kBinFloat = 'G',
  kEmptyTuple = ')',
  kEmptyList = ']',
  kEmptyDict = '}',
  kProto = 0x80,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kMemoize = 0x94,
};

std::string OpcodeName(uint8_t op) {
  char buf[16];
  if (op >= 0x20 && op < 0x7f) {
    std::snprintf(buf, sizeof(buf), "0x%02x '%c'", op, op);
  } else {
    std::snprintf(buf, sizeof(buf), "0x%02x", op);
  }
  return buf;
}

// Runs data.pkl. One instance per file; not thread-safe.
class PickleMachine {
 public:
  // `records`, `data` and `graph` are borrowed and must outlive Run(); `where` prefixes every
  // error message. Values are created in graph->arena; graph->storage_bytes counts the storages.
  PickleMachine(const RecordLoader* records, std::string where, const uint8_t* data, size_t size, Graph* graph)
      : records_(records), where_(std::move(where)), data_(data), size_(size), graph_(graph) {}

  // OK: *result is the pickled top-level object (borrowed from the arena).
  Status Run(Value** result);

 private:
  Status Error(const std::string& msg) const {
    return Status::Corruption(where_ + ": " + msg + " (opcode at byte " + std::to_string(op_pos_) + ")");
  }
  Value* New(Kind kind) {
    graph_->arena.emplace_back();
    graph_->arena.back().kind = kind;
    return &graph_->arena.back();
  }
  Status Take(size_t n, const uint8_t** p) {
    if (size_ - pos_ < n) return Error("pickle is truncated");
    *p = data_ + pos_;
    pos_ += n;
    return Status::OK();
  }
  template <typename T>
  Status TakeLittleEndian(T* out) {
    const uint8_t* p = nullptr;
    RAPID_RETURN_IF_ERROR(Take(sizeof(T), &p));
    std::memcpy(out, p, sizeof(T));
    return Status::OK();
  }
  Status TakeLine(std::string* out) {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (nl == nullptr) return Error("pickle is truncated inside GLOBAL");
    size_t end = static_cast<const uint8_t*>(nl) - data_;
    out->assign(reinterpret_cast<const char*>(data_ + pos_), end - pos_);
    pos_ = end + 1;
    return Status::OK();
  }
  Status Pop(Value** out) {
    if (stack_.size() <= CurrentMark()) return Error("pickle stack underflow");
    *out = stack_.back();
    stack_.pop_back();
    return Status::OK();
  }
  Status Top(Value** out) {
    if (stack_.size() <= CurrentMark()) return Error("pickle stack underflow");
    *out = stack_.back();
    return Status::OK();
  }
  size_t CurrentMark() const { return marks_.empty() ? 0 : marks_.back(); }
  // Moves everything above the last MARK into *items and drops the MARK.
  Status PopMark(std::vector<Value*>* items) {
    if (marks_.empty()) return Error("pickle has no MARK to pop");
    size_t mark = marks_.back();
    marks_.pop_back();
    items->assign(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return Status::OK();
  }
  Status PushString(size_t length) {
    const uint8_t* p = nullptr;
    RAPID_RETURN_IF_ERROR(Take(length, &p));
    Value* v = New(Kind::kString);
    v->str.assign(reinterpret_cast<const char*>(p), length);
    stack_.push_back(v);
    return Status::OK();
  }
  void PushInt(int64_t x) {
    Value* v = New(Kind::kInt);
    v->int_value = x;
    stack_.push_back(v);
  }
  Status Memo(uint32_t index) {
    Value* top = nullptr;
    RAPID_RETURN_IF_ERROR(Top(&top));
    memo_[index] = top;
    return Status::OK();
  }
  Status Recall(uint32_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) return Error("pickle reads memo slot " + std::to_string(index) + " before writing it");
    stack_.push_back(it->second);
    return Status::OK();
  }
  Status SetItems(Value* dict, const std::vector<Value*>& kv);
  Status DoGlobal();
  Status DoPersistentId();
  Status DoReduce();
  Status RebuildTensor(const std::vector<Value*>& args, Value** out);

  const RecordLoader* records_;
  std::string where_;
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  Graph* graph_;
  std::vector<Value*> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint32_t, Value*> memo_;
  std::unordered_map<std::string, Value*> storages_;  // by record key: shared storages stay shared
};

bool SameKey(const Value* a, const Value* b) {
  if (a->kind != b->kind) return false;
  if (a->kind == Kind::kString) return a->str == b->str;
  if (a->kind == Kind::kInt) return a->int_value == b->int_value;
  return a == b;
}

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

bool IntTuple(const Value* v, std::vector<int64_t>* out) {
  if (v->kind != Kind::kTuple) return false;
  out->clear();
  for (const Value* item : v->items) {
    if (item->kind != Kind::kInt) return false;
    out->push_back(item->int_value);
  }
  return true;
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

Status PickleMachine::Run(Value** result) {
  while (true) {
    op_pos_ = pos_;
    const uint8_t* p = nullptr;
    if (pos_ >= size_) return Error("pickle ends without STOP");
    const uint8_t op = data_[pos_++];
    switch (op) {
      case kProto: {
        RAPID_RETURN_IF_ERROR(Take(1, &p));
        if (*p < 2 || *p > 5) return Error("unsupported pickle protocol " + std::to_string(*p));
        break;
      }
      case kGlobal:
        RAPID_RETURN_IF_ERROR(DoGlobal());
        break;
      case kMark:
        marks_.push_back(stack_.size());
        break;
      case kEmptyDict:
        stack_.push_back(New(Kind::kDict));
        break;
      case kEmptyList:
        stack_.push_back(New(Kind::kList));
        break;
      case kEmptyTuple:
        stack_.push_back(New(Kind::kTuple));
        break;
      case kTuple: {
        Value* t = New(Kind::kTuple);
        RAPID_RETURN_IF_ERROR(PopMark(&t->items));
        stack_.push_back(t);
        break;
      }
      case kTuple1:
      case kTuple2:
      case kTuple3: {
        const size_t n = op - kTuple1 + 1;
        if (stack_.size() < CurrentMark() + n) return Error("pickle stack underflow");
        Value* t = New(Kind::kTuple);
        t->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
        stack_.resize(stack_.size() - n);
        stack_.push_back(t);
        break;
      }
      case kBinUnicode: {
        uint32_t n = 0;
        RAPID_RETURN_IF_ERROR(TakeLittleEndian(&n));
        RAPID_RETURN_IF_ERROR(PushString(n));
        break;
      }
      case kShortBinUnicode: {
        RAPID_RETURN_IF_ERROR(Take(1, &p));
        RAPID_RETURN_IF_ERROR(PushString(*p));
        break;
      }
      case kBinUnicode8: {
        uint64_t n = 0;
        RAPID_RETURN_IF_ERROR(TakeLittleEndian(&n));
        if (n > size_) return Error("pickle is truncated");
        RAPID_RETURN_IF_ERROR(PushString(static_cast<size_t>(n)));
        break;
      }
      case kBinInt: {
        int32_t x = 0;
        RAPID_RETURN_IF_ERROR(TakeLittleEndian(&x));
        PushInt(x);
        break;
      }
      case kBinInt1: {
        RAPID_RETURN_IF_ERROR(Take(1, &p));
        PushInt(*p);
        break;
      }
      case kBinInt2: {
        uint16_t x = 0;
        RAPID_RETURN_IF_ERROR(TakeLittleEndian(&x));
        PushInt(x);
        break;
      }
      case kLong1: {
        RAPID_RETURN_IF_ERROR(Take(1, &p));
        const size_t n = *p;
        if (n > 8) return Error("LONG1 integer wider than 64 bits");
        RAPID_RETURN_IF_ERROR(Take(n, &p));
        uint64_t bits = 0;
        for (size_t i = 0; i < n; ++i) bits |= static_cast<uint64_t>(p[i]) << (8 * i);
        if (n > 0 && n < 8 && (p[n - 1] & 0x80)) bits |= ~uint64_t{0} << (8 * n);  // sign-extend
        PushInt(static_cast<int64_t>(bits));
        break;
      }
      case kBinFloat: {  // the one big-endian field in a pickle
        RAPID_RETURN_IF_ERROR(Take(8, &p));
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        Value* v = New(Kind::kFloat);
        v->float_value = std::bit_cast<double>(bits);
        stack_.push_back(v);
        break;
      }
      case kNewTrue:
      case kNewFalse: {
        Value* v = New(Kind::kBool);
        v->bool_value = (op == kNewTrue);
        stack_.push_back(v);
        break;
      }
      case kNone:
        stack_.push_back(New(Kind::kNone));
        break;
      case kBinPut: {
        RAPID_RETURN_IF_ERROR(Take(1, &p));
        RAPID_RETURN_IF_ERROR(Memo(*p));
        break;
      }
      case kLongBinPut: {
        uint32_t index = 0;
        RAPID_RETURN_IF_ERROR(TakeLittleEndian(&index));
        RAPID_RETURN_IF_ERROR(Memo(index));
        break;
      }
      case kMemoize:
        RAPID_RETURN_IF_ERROR(Memo(static_cast<uint32_t>(memo_.size())));
        break;
      case kBinGet: {
        RAPID_RETURN_IF_ERROR(Take(1, &p));
        RAPID_RETURN_IF_ERROR(Recall(*p));
        break;
      }
      case kLongBinGet: {
        uint32_t index = 0;
        RAPID_RETURN_IF_ERROR(TakeLittleEndian(&index));
        RAPID_RETURN_IF_ERROR(Recall(index));
        break;
      }
      case kBinPersId:
        RAPID_RETURN_IF_ERROR(DoPersistentId());
        break;
      case kReduce:
        RAPID_RETURN_IF_ERROR(DoReduce());
        break;
      case kBuild: {
        Value* state = nullptr;
        Value* target = nullptr;
        RAPID_RETURN_IF_ERROR(Pop(&state));
        RAPID_RETURN_IF_ERROR(Top(&target));
        // OrderedDict's state is its __dict__ ({'_metadata': ...}, module versions): not needed.
        if (target->kind != Kind::kDict) return Error(std::string("BUILD on a ") + KindName(target->kind));
        break;
      }
      case kSetItem: {
        Value* value = nullptr;
        Value* key = nullptr;
        Value* dict = nullptr;
        RAPID_RETURN_IF_ERROR(Pop(&value));
        RAPID_RETURN_IF_ERROR(Pop(&key));
        RAPID_RETURN_IF_ERROR(Top(&dict));
        RAPID_RETURN_IF_ERROR(SetItems(dict, {key, value}));
        break;
      }
      case kSetItems: {
        std::vector<Value*> kv;
        Value* dict = nullptr;
        RAPID_RETURN_IF_ERROR(PopMark(&kv));
        RAPID_RETURN_IF_ERROR(Top(&dict));
        RAPID_RETURN_IF_ERROR(SetItems(dict, kv));
        break;
      }
      case kAppend: {
        Value* value = nullptr;
        Value* list = nullptr;
        RAPID_RETURN_IF_ERROR(Pop(&value));
        RAPID_RETURN_IF_ERROR(Top(&list));
        if (list->kind != Kind::kList) return Error(std::string("APPEND on a ") + KindName(list->kind));
        list->items.push_back(value);
        break;
      }
      case kAppends: {
        std::vector<Value*> values;
        Value* list = nullptr;
        RAPID_RETURN_IF_ERROR(PopMark(&values));
        RAPID_RETURN_IF_ERROR(Top(&list));
        if (list->kind != Kind::kList) return Error(std::string("APPENDS on a ") + KindName(list->kind));
        list->items.insert(list->items.end(), values.begin(), values.end());
        break;
      }
      case kStop:
        if (stack_.size() != 1 || !marks_.empty()) return Error("pickle stops with a malformed stack");
        *result = stack_.back();
        return Status::OK();
      default:
        return Error("unsupported pickle opcode " + OpcodeName(op));
    }
  }
}

}  // namespace

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
