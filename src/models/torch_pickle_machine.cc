#include <bit>
#include <cstdio>

#include "models/torch_pickle_machine.h"

namespace rapid::torch_pickle {

namespace {

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

}  // namespace

Status PickleMachine::Run(Value** result) {
  while (true) {
    op_pos_ = pos_;
    const uint8_t* p = nullptr;
    if (pos_ >= size_) return Error("pickle ends without STOP");
    const uint8_t op = data_[pos_++];
    bool handled = false;
    switch (op) {
      case kProto:
        RAPID_RETURN_IF_ERROR(Take(1, &p));
        if (*p < 2 || *p > 5) return Error("unsupported pickle protocol " + std::to_string(*p));
        break;
      case kGlobal: RAPID_RETURN_IF_ERROR(DoGlobal()); break;
      case kBinPersId: RAPID_RETURN_IF_ERROR(DoPersistentId()); break;
      case kReduce: RAPID_RETURN_IF_ERROR(DoReduce()); break;
      case kStop:
        if (stack_.size() != 1 || !marks_.empty()) return Error("pickle stops with a malformed stack");
        *result = stack_.back();
        return Status::OK();
      default:
        RAPID_RETURN_IF_ERROR(DoContainerOp(op, &handled));
        if (!handled) RAPID_RETURN_IF_ERROR(DoFillOp(op, &handled));
        if (!handled) RAPID_RETURN_IF_ERROR(DoScalarOp(op, &handled));
        if (!handled) RAPID_RETURN_IF_ERROR(DoMemoOp(op, &handled));
        if (!handled) return Error("unsupported pickle opcode " + OpcodeName(op));
    }
  }
}

// MARK and new tuples, lists and dicts.
Status PickleMachine::DoContainerOp(uint8_t op, bool* handled) {
  *handled = true;
  switch (op) {
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
    default: *handled = false;
  }
  return Status::OK();
}

// Filling the dict or list on top of the stack: SETITEM(S), APPEND(S), and BUILD (a no-op here).
Status PickleMachine::DoFillOp(uint8_t op, bool* handled) {
  *handled = true;
  switch (op) {
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
    default: *handled = false;
  }
  return Status::OK();
}

// Strings, integers, floats, booleans and None.
Status PickleMachine::DoScalarOp(uint8_t op, bool* handled) {
  *handled = true;
  const uint8_t* p = nullptr;
  switch (op) {
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
    default: *handled = false;
  }
  return Status::OK();
}

// The memo: PUT, MEMOIZE and GET.
Status PickleMachine::DoMemoOp(uint8_t op, bool* handled) {
  *handled = true;
  const uint8_t* p = nullptr;
  switch (op) {
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
    default: *handled = false;
  }
  return Status::OK();
}

}  // namespace rapid::torch_pickle
