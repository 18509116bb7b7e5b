// Internal to state_dict_reader: the restricted pickle interpreter that runs the data.pkl record
// of a torch.save zip archive (see state_dict_reader.h for the container format).
//
// It knows only the opcodes torch.save emits for dicts, lists, tuples, strings, numbers and
// tensors, and accepts only these globals (any other is rejected when its GLOBAL is read):
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2,
//   torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage.
// Nothing named by a file is ever executed. Storages arrive only as persistent ids
// ('storage', <torch XStorage>, key, location, numel); each is the record data/<key>, copied into
// the storage value. _rebuild_tensor_v2 makes strided views of those storages, checked to lie
// inside; CopyTensor then copies a view's elements out, contiguous.
//
// Thread safety: RunTorchPickle is reentrant; distinct calls may run on distinct threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "models/stored_tensor.h"

namespace rapid::torch_pickle {

// Values the interpreter can build. Only what torch.save emits for a dict of tensors.
enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor };

// "None", "bool", "int", "float", "str", "tuple", "list", "dict", "global", "storage" or "tensor".
const char* KindName(Kind kind);

// The only callables a file may name. Anything else is rejected when its GLOBAL is read.
enum class GlobalId { kOrderedDict, kRebuildTensorV2, kStorageType };

struct Value {
  Kind kind = Kind::kNone;
  bool bool_value = false;
  int64_t int_value = 0;
  double float_value = 0.0;
  std::string str;                                  // kString; kGlobal: "module.name"
  std::vector<Value*> items;                        // kTuple, kList (borrowed from the arena)
  std::vector<std::pair<Value*, Value*>> dict;      // kDict, insertion order
  GlobalId global = GlobalId::kOrderedDict;         // kGlobal
  DType dtype = DType::kFloat;                      // kGlobal (storage type), kStorage
  std::vector<unsigned char> bytes;                 // kStorage: the elements, as in the record
  // kTensor: a view of `storage` (a kStorage in the same arena) with torch's geometry, in elements;
  // every element it reaches lies inside the storage. `numel` is the product of `sizes`.
  const Value* storage = nullptr;
  int64_t offset = 0, numel = 0;
  std::vector<int64_t> sizes, strides;
};

// The object graph one pickle built. Memo references may make values shared or even cyclic, so
// every value lives in (and is owned by) `arena`; `root` and all Value pointers borrow from it.
// Not copyable: copies would point into the original.
struct Graph {
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  std::deque<Value> arena;  // deque: pointers stay valid as it grows; cycles cannot leak
  const Value* root = nullptr;
  uint64_t storage_bytes = 0;  // bytes of all storages read, each counted once
};

// Access to the archive's records, for storage persistent ids. Borrowed for one RunTorchPickle.
struct RecordLoader {
  // True when the archive holds the record `name` (for example "data/0"); *bytes is then its size.
  std::function<bool(const std::string& name, uint64_t* bytes)> find_record;
  // REQUIRES: find_record(name) gave `bytes` and dst holds that many. Reads the whole record into
  // dst. Errors name the file and the record; RunTorchPickle returns them unchanged.
  std::function<Status(const std::string& name, unsigned char* dst, uint64_t bytes)> read_record;
};

// Runs the pickle `data_pkl` (bytes borrowed for the call only) into *out (replacing it).
// OK: out->root is the pickled top-level object; storages own copies of their records' bytes.
// Corruption: a truncated or malformed pickle, an opcode or global outside the allowed set, a
//   missing or short storage record, or tensor geometry outside its storage. Every message
//   starts with "<source>: " and ends with the opcode's byte offset.
// Errors of `load_record.read_record` are returned as they are. On error out->root is null.
// std::bad_alloc propagates; the caller converts it to Status.
Status RunTorchPickle(std::string_view data_pkl, const RecordLoader& load_record, const std::string& source,
                      Graph* out);

// Copies the elements of the view `tensor` into *out (replacing it): its storage's dtype, its
// sizes as the shape, the elements contiguous in row-major order.
// REQUIRES: tensor.kind == Kind::kTensor, from a successful RunTorchPickle whose Graph is alive.
// Allocates tensor.numel elements (std::bad_alloc propagates).
void CopyTensor(const Value& tensor, StoredTensor* out);

}  // namespace rapid::torch_pickle
