// Reads PyTorch `torch.save` files without libtorch's unpickler, which cannot read them on this
// platform (see DESIGN.md "Known pitfalls"): libtorch 1.13 turns every OrderedDict, and so every
// `torch.save(model.state_dict())`, into None, and it does not know the APPEND opcode that Python
// emits for one-element lists (some golden files have them).
//
// Format (torch.save, zip container, `_use_new_zipfile_serialization=True`, the default since 1.6):
//   <archive>/data.pkl     pickle (protocol 2) of the saved object
//   <archive>/data/<key>   raw little-endian bytes of one storage
//   <archive>/version      container version
// The zip is read with libzip (models/torch_archive.h), records named without the top-level folder
// (<archive> is the file's stem when saved; "archive" in some files). No libtorch is involved.
// data.pkl is read by a small pickle interpreter that knows only the opcodes torch.save emits for
// dicts, lists, tuples, strings, numbers and tensors, and resolves exactly these globals:
//   collections.OrderedDict, torch._utils._rebuild_tensor_v2,
//   torch.{Float,Double,Half,BFloat16,Long,Int,Short,Char,Byte,Bool}Storage.
// Any other opcode or global makes the file Corruption, so no content of a file is ever executed.
// Legacy (non-zip) torch.save files and TorchScript archives are not supported.
//
// Thread safety: the functions are reentrant; distinct calls may run on distinct threads.
// Results are values: every tensor is a StoredTensor (models/stored_tensor.h) that owns a contiguous
// copy of its elements. Views that shared one storage in the file (a transpose, a slice) are each
// copied out with their own geometry applied, so they no longer share memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "models/stored_tensor.h"

namespace rapid {

// One Python object from a torch.save file, limited to what the reader understands.
struct PyValue {
  enum class Kind { kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kTensor };

  Kind kind = Kind::kNone;
  bool bool_value = false;                           // kBool
  int64_t int_value = 0;                             // kInt
  double float_value = 0.0;                          // kFloat
  std::string string_value;                          // kString
  std::vector<PyValue> items;                        // kTuple, kList
  std::vector<std::pair<PyValue, PyValue>> entries;  // kDict (dict or OrderedDict), insertion order
  StoredTensor tensor;                               // kTensor

  // kDict: the value under the string key `key`, or nullptr (also for other kinds). Borrowed:
  // valid while this value is unchanged.
  const PyValue* Find(const std::string& key) const;
};

// "None", "bool", "int", "float", "str", "tuple", "list", "dict" or "tensor".
const char* PyKindName(PyValue::Kind kind);

// Named tensors in the order the file stores them (the module's registration order).
struct StateDict {
  NamedStoredTensors entries;

  size_t size() const { return entries.size(); }
  bool empty() const { return entries.empty(); }
  // The tensor named `name`, or nullptr when there is none. Borrowed: valid while `entries`
  // is unchanged. Linear search; state dicts have a few hundred entries.
  const StoredTensor* Find(const std::string& name) const;
  // Names in file order.
  std::vector<std::string> Keys() const;
};

// Reads the object saved at `path` into *out (replacing it).
// OK: *out is the saved object.
// NotFound: `path` does not exist or is not a regular file (the message names the path).
// Corruption: not a torch zip container (models/torch_archive.h: also a bad version or byteorder
//   record, a CRC mismatch), a missing or short record, a malformed or truncated pickle, an opcode
//   or global outside the allowed set, tensor geometry outside its storage, objects nested too
//   deeply (or cyclically) to be a saved value, or shared references and overlapping views that
//   would copy out more than 8 times the bytes of the file's storages (plus 1 MiB). The message
//   names the path and, where it applies, the record, opcode (with byte offset) or global.
// IOError: the file exists but cannot be read.
// ResourceExhausted: not enough memory for the tensors.
// On error *out is None.
Status ReadTorchSave(const std::string& path, PyValue* out);

// Reads a `torch.save(model.state_dict())` file into *out (replacing its contents).
// OK: *out holds every entry of the top-level dict (OrderedDict or plain dict), in file order.
// InvalidArgument: a well-formed file that is not a dict of str -> tensor (for example a
//   checkpoint holding a nested state_dict, or a golden file with strings); names the key.
// Other errors: as ReadTorchSave. On error *out is left empty.
Status ReadStateDict(const std::string& path, StateDict* out);

}  // namespace rapid
