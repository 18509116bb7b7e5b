// Internal to state_dict_reader: the restricted pickle interpreter that runs the data.pkl record
// of a torch.save zip archive (see state_dict_reader.h for the container format).
//
// It knows only the opcodes torch.save emits for dicts, lists, tuples, strings, numbers and
// tensors, and accepts only these globals (any other is rejected when its GLOBAL is read):
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2,
//   torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage.
// Nothing named by a file is ever executed. Storages arrive only as persistent ids
// ('storage', <torch XStorage>, key, location, numel); each is the record data/<key>, copied into
// a CPU tensor. _rebuild_tensor_v2 makes strided views of those storages, checked to lie inside.
//
// Thread safety: RunTorchPickle is reentrant; distinct calls may run on distinct threads.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Allocator.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

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
  at::ScalarType dtype = at::ScalarType::Undefined;  // kGlobal (storage type), kStorage
  at::Tensor tensor;                                // kStorage: 1-D, owns the bytes; kTensor
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
};

// Access to the archive's records, for storage persistent ids. Borrowed for one RunTorchPickle.
struct RecordLoader {
  // True when the archive holds the record `name` (for example "data/0").
  std::function<bool(const std::string& name)> has_record;
  // REQUIRES: has_record(name). The record's bytes and their count. May throw (c10::Error).
  std::function<std::pair<c10::DataPtr, size_t>(const std::string& name)> get_record;
};

// Runs the pickle `data_pkl` (bytes borrowed for the call only) into *out (replacing it).
// OK: out->root is the pickled top-level object; tensors and storages own (share) their bytes.
// Corruption: a truncated or malformed pickle, an opcode or global outside the allowed set, a
//   missing or short storage record, or tensor geometry outside its storage. Every message
//   starts with "<source>: " and ends with the opcode's byte offset.
// On error out->root is null. libtorch exceptions (allocation, record reads) propagate; the
// caller converts them to Status.
Status RunTorchPickle(std::string_view data_pkl, const RecordLoader& load_record, const std::string& source,
                      Graph* out);

}  // namespace rapid::torch_pickle
