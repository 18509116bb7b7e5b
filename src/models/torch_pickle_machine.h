// The pickle virtual machine that runs a PyTorch checkpoint's data.pkl (torch_pickle.h): internal
// to src/models. torch_pickle_machine.cc runs the opcodes; torch_pickle.cc builds what they call
// (OrderedDicts, storages, tensors).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "models/torch_pickle.h"

namespace rapid::torch_pickle {

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
  // Opcode groups of Run: each returns with *handled false when `op` is not one of its own.
  Status DoContainerOp(uint8_t op, bool* handled);
  Status DoFillOp(uint8_t op, bool* handled);
  Status DoScalarOp(uint8_t op, bool* handled);
  Status DoMemoOp(uint8_t op, bool* handled);
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

}  // namespace rapid::torch_pickle
