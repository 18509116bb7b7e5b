#include "models/state_dict_reader.h"

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "stored_tensor_aten.h"

namespace rapid {
namespace {

const std::string kPhaseNetPath = std::string(RAPID_MODELS_DIR) + "/phasenet_original.pt";
const std::string kFixtureDir = std::string(RAPID_TEST_DATA_DIR) + "/torch_save";

std::vector<char> ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// Writes `bytes` to a fresh file in the test temp dir and returns its path.
std::string WriteTemp(const std::string& name, const std::vector<char>& bytes) {
  const std::string path = ::testing::TempDir() + "/state_dict_reader_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

bool Mentions(const Status& status, const std::string& text) {
  return status.message().find(text) != std::string::npos;
}

// The key list, in file order, of models/phasenet_original.pt: SeisBench PhaseNet's
// state_dict. Derived independently with python3 (zipfile + pickle with stub globals):
// list(state_dict.keys()); 111 entries.
const std::vector<std::string> kPhaseNetKeys = {
    "inc.weight", "inc.bias", "in_bn.weight",
    "in_bn.bias", "in_bn.running_mean", "in_bn.running_var",
    "in_bn.num_batches_tracked", "down_branch.0.0.weight", "down_branch.0.1.weight",
    "down_branch.0.1.bias", "down_branch.0.1.running_mean", "down_branch.0.1.running_var",
    "down_branch.0.1.num_batches_tracked", "down_branch.0.2.weight", "down_branch.0.3.weight",
    "down_branch.0.3.bias", "down_branch.0.3.running_mean", "down_branch.0.3.running_var",
    "down_branch.0.3.num_batches_tracked", "down_branch.1.0.weight", "down_branch.1.1.weight",
    "down_branch.1.1.bias", "down_branch.1.1.running_mean", "down_branch.1.1.running_var",
    "down_branch.1.1.num_batches_tracked", "down_branch.1.2.weight", "down_branch.1.3.weight",
    "down_branch.1.3.bias", "down_branch.1.3.running_mean", "down_branch.1.3.running_var",
    "down_branch.1.3.num_batches_tracked", "down_branch.2.0.weight", "down_branch.2.1.weight",
    "down_branch.2.1.bias", "down_branch.2.1.running_mean", "down_branch.2.1.running_var",
    "down_branch.2.1.num_batches_tracked", "down_branch.2.2.weight", "down_branch.2.3.weight",
    "down_branch.2.3.bias", "down_branch.2.3.running_mean", "down_branch.2.3.running_var",
    "down_branch.2.3.num_batches_tracked", "down_branch.3.0.weight", "down_branch.3.1.weight",
    "down_branch.3.1.bias", "down_branch.3.1.running_mean", "down_branch.3.1.running_var",
    "down_branch.3.1.num_batches_tracked", "down_branch.3.2.weight", "down_branch.3.3.weight",
    "down_branch.3.3.bias", "down_branch.3.3.running_mean", "down_branch.3.3.running_var",
    "down_branch.3.3.num_batches_tracked", "down_branch.4.0.weight", "down_branch.4.1.weight",
    "down_branch.4.1.bias", "down_branch.4.1.running_mean", "down_branch.4.1.running_var",
    "down_branch.4.1.num_batches_tracked", "up_branch.0.0.weight", "up_branch.0.1.weight",
    "up_branch.0.1.bias", "up_branch.0.1.running_mean", "up_branch.0.1.running_var",
    "up_branch.0.1.num_batches_tracked", "up_branch.0.2.weight", "up_branch.0.3.weight",
    "up_branch.0.3.bias", "up_branch.0.3.running_mean", "up_branch.0.3.running_var",
    "up_branch.0.3.num_batches_tracked", "up_branch.1.0.weight", "up_branch.1.1.weight",
    "up_branch.1.1.bias", "up_branch.1.1.running_mean", "up_branch.1.1.running_var",
    "up_branch.1.1.num_batches_tracked", "up_branch.1.2.weight", "up_branch.1.3.weight",
    "up_branch.1.3.bias", "up_branch.1.3.running_mean", "up_branch.1.3.running_var",
    "up_branch.1.3.num_batches_tracked", "up_branch.2.0.weight", "up_branch.2.1.weight",
    "up_branch.2.1.bias", "up_branch.2.1.running_mean", "up_branch.2.1.running_var",
    "up_branch.2.1.num_batches_tracked", "up_branch.2.2.weight", "up_branch.2.3.weight",
    "up_branch.2.3.bias", "up_branch.2.3.running_mean", "up_branch.2.3.running_var",
    "up_branch.2.3.num_batches_tracked", "up_branch.3.0.weight", "up_branch.3.1.weight",
    "up_branch.3.1.bias", "up_branch.3.1.running_mean", "up_branch.3.1.running_var",
    "up_branch.3.1.num_batches_tracked", "up_branch.3.2.weight", "up_branch.3.3.weight",
    "up_branch.3.3.bias", "up_branch.3.3.running_mean", "up_branch.3.3.running_var",
    "up_branch.3.3.num_batches_tracked", "out.weight", "out.bias",
};

class StateDictReaderPhaseNetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dict_ = new StateDict();
    status_ = new Status(ReadStateDict(kPhaseNetPath, dict_));
  }
  static void TearDownTestSuite() {
    delete dict_;
    delete status_;
  }
  void SetUp() override { ASSERT_TRUE(status_->ok()) << status_->ToString(); }
  static const StoredTensor& Get(const std::string& name) {
    const StoredTensor* t = dict_->Find(name);
    EXPECT_NE(t, nullptr) << name;
    static const StoredTensor kEmpty{DType::kFloat, {0}, {}};
    return t ? *t : kEmpty;
  }
  // The tensor as libtorch sees it, for reading elements.
  static at::Tensor GetAt(const std::string& name) { return ToAtTensor(Get(name)); }
  static StateDict* dict_;
  static Status* status_;
};
StateDict* StateDictReaderPhaseNetTest::dict_ = nullptr;
Status* StateDictReaderPhaseNetTest::status_ = nullptr;

TEST_F(StateDictReaderPhaseNetTest, KeysInFileOrder) {
  EXPECT_EQ(kPhaseNetKeys.size(), 111u);
  EXPECT_EQ(dict_->size(), 111u);
  EXPECT_EQ(dict_->Keys(), kPhaseNetKeys);
  EXPECT_EQ(dict_->Find("no.such.key"), nullptr);
}

TEST_F(StateDictReaderPhaseNetTest, ShapesAndDtypes) {
  struct Expect {
    const char* name;
    std::vector<int64_t> sizes;
    DType dtype;
  };
  const Expect expects[] = {
      {"inc.weight", {8, 3, 7}, DType::kFloat},
      {"inc.bias", {8}, DType::kFloat},
      {"in_bn.running_var", {8}, DType::kFloat},
      {"in_bn.num_batches_tracked", {}, DType::kLong},
      {"down_branch.0.0.weight", {8, 8, 7}, DType::kFloat},
      {"down_branch.4.0.weight", {128, 64, 7}, DType::kFloat},
      {"up_branch.0.2.weight", {64, 128, 7}, DType::kFloat},
      {"out.weight", {3, 8, 1}, DType::kFloat},
      {"out.bias", {3}, DType::kFloat},
  };
  for (const Expect& e : expects) {
    const StoredTensor& t = Get(e.name);
    EXPECT_EQ(t.shape, e.sizes) << e.name;
    EXPECT_EQ(t.dtype, e.dtype) << e.name;
    // Contiguous: exactly the elements of the shape, nothing more.
    EXPECT_EQ(t.bytes.size(), static_cast<size_t>(t.Numel()) * DTypeSize(t.dtype)) << e.name;
  }
  for (const auto& [name, t] : dict_->entries) {
    if (name.ends_with("num_batches_tracked")) {
      EXPECT_EQ(t.dtype, DType::kLong) << name;
      EXPECT_TRUE(t.shape.empty()) << name;
    } else {
      EXPECT_EQ(t.dtype, DType::kFloat) << name;
    }
  }
}

// Constants read straight from the zip with python3: zipfile.read('phasenet_original/data/<key>')
// and struct.unpack('<f'/'<q'), the record key taken from the pickle's persistent id; printed with
// '%.9g' (enough digits to round-trip a float32).
TEST_F(StateDictReaderPhaseNetTest, KnownValues) {
  const at::Tensor inc = GetAt("inc.weight");
  EXPECT_EQ(inc[0][0][0].item<float>(), -0.284729332f);
  EXPECT_EQ(inc[0][0][1].item<float>(), -0.117796406f);
  EXPECT_EQ(inc[0][0][2].item<float>(), 0.000573435042f);
  EXPECT_EQ(inc[1][2][3].item<float>(), 0.00437180605f);
  EXPECT_EQ(inc[7][2][6].item<float>(), 0.242574409f);
  EXPECT_NEAR(inc.sum().item<double>(), -0.658306707, 1e-5);

  const at::Tensor var = GetAt("in_bn.running_var");
  const float expected_var[8] = {173.466934f, 38.1875916f, 15.5098553f, 121.233803f,
                                 39.523201f,  50.2450714f, 50.6976204f, 32.6636391f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(var[i].item<float>(), expected_var[i]) << i;

  EXPECT_EQ(GetAt("in_bn.num_batches_tracked").item<int64_t>(), 0);

  const at::Tensor bias = GetAt("out.bias");
  EXPECT_EQ(bias[0].item<float>(), -0.900086284f);
  EXPECT_EQ(bias[1].item<float>(), 1.23626816f);
  EXPECT_EQ(bias[2].item<float>(), 0.373012304f);
  EXPECT_EQ(GetAt("out.weight")[2][7][0].item<float>(), -0.716807842f);
  // Float32 as StrictParams takes it: the same values.
  const std::vector<float> bias_values = Get("out.bias").ToFloat();
  EXPECT_EQ(bias_values, (std::vector<float>{-0.900086284f, 1.23626816f, 0.373012304f}));
}

TEST(StateDictReaderTest, TensorsOutliveTheStateDict) {
  StoredTensor kept;
  {
    StateDict dict;
    ASSERT_TRUE(ReadStateDict(kPhaseNetPath, &dict).ok());
    kept = *dict.Find("out.bias");
  }
  EXPECT_EQ(kept.ToFloat()[1], 1.23626816f);
}

// tests/data/torch_save/plain_dict.pt (see make_fixtures.py there): a top-level plain dict whose
// tensors cover several dtypes, a transposed view, a storage offset and an empty tensor. Views
// come out as contiguous copies with their geometry applied.
TEST(StateDictReaderTest, PlainDictWithViewsAndDtypes) {
  StateDict dict;
  Status s = ReadStateDict(kFixtureDir + "/plain_dict.pt", &dict);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(dict.Keys(),
            (std::vector<std::string>{"weight", "weight_t", "tail", "steps", "mask", "half", "double", "empty"}));

  const at::Tensor w = ToAtTensor(*dict.Find("weight"));
  const at::Tensor wt = ToAtTensor(*dict.Find("weight_t"));
  EXPECT_EQ(w.sizes().vec(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(wt.sizes().vec(), (std::vector<int64_t>{3, 2}));
  // The transposed view (strides (1, 3) over the weight's storage) read element by element.
  EXPECT_TRUE(at::equal(wt, w.t()));
  EXPECT_EQ(dict.Find("weight_t")->ToFloat(), (std::vector<float>{0.5f, 3.5f, -1.25f, -4.0f, 2.0f, 0.001f}));
  EXPECT_EQ(w[1][2].item<float>(), 0.001f);
  EXPECT_EQ(w[0][1].item<float>(), -1.25f);

  // Storage offset 4: the storage's last two elements.
  const StoredTensor& tail = *dict.Find("tail");
  EXPECT_EQ(tail.shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(tail.ToFloat(), (std::vector<float>{-4.0f, 0.001f}));

  const StoredTensor& steps = *dict.Find("steps");
  EXPECT_EQ(steps.dtype, DType::kLong);
  EXPECT_TRUE(steps.shape.empty());
  EXPECT_EQ(ToAtTensor(steps).item<int64_t>(), 1234567890123);
  EXPECT_EQ(steps.ToFloat(), (std::vector<float>{1234567890123.0f}));  // rounded to float32

  const StoredTensor& mask = *dict.Find("mask");
  EXPECT_EQ(mask.dtype, DType::kBool);
  const at::Tensor mask_at = ToAtTensor(mask);
  EXPECT_TRUE(mask_at[0].item<bool>());
  EXPECT_FALSE(mask_at[1].item<bool>());
  EXPECT_TRUE(mask_at[2].item<bool>());
  EXPECT_EQ(mask.ToFloat(), (std::vector<float>{1.0f, 0.0f, 1.0f}));

  const StoredTensor& half = *dict.Find("half");
  EXPECT_EQ(half.dtype, DType::kHalf);
  EXPECT_EQ(ToAtTensor(half)[0].item<float>(), 1.5f);
  EXPECT_EQ(half.ToFloat(), (std::vector<float>{1.5f, -2.0f}));

  const StoredTensor& dbl = *dict.Find("double");
  EXPECT_EQ(dbl.dtype, DType::kDouble);
  const at::Tensor dbl_at = ToAtTensor(dbl);
  EXPECT_EQ(dbl_at[0].item<double>(), 3.141592653589793);
  EXPECT_EQ(dbl_at[1].item<double>(), -1e300);
  EXPECT_EQ(dbl.ToFloat()[0], 3.14159274f);  // rounded to nearest float32

  const StoredTensor& empty = *dict.Find("empty");
  EXPECT_EQ(empty.Numel(), 0);
  EXPECT_TRUE(empty.bytes.empty());
  EXPECT_EQ(empty.dtype, DType::kFloat);
}

TEST(StateDictReaderTest, MissingFileIsNotFound) {
  const std::string path = kFixtureDir + "/does_not_exist.pt";
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
  EXPECT_TRUE(Mentions(s, path)) << s.ToString();
  EXPECT_TRUE(dict.empty());
}

TEST(StateDictReaderTest, DirectoryIsNotFound) {
  StateDict dict;
  Status s = ReadStateDict(kFixtureDir, &dict);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
}

TEST(StateDictReaderTest, RandomBytesAreCorruption) {
  std::mt19937 rng(7);
  std::vector<char> bytes(4096);
  for (char& b : bytes) b = static_cast<char>(rng());
  const std::string path = WriteTemp("random.pt", bytes);
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(Mentions(s, path)) << s.ToString();
  std::filesystem::remove(path);
}

TEST(StateDictReaderTest, EmptyFileIsCorruption) {
  const std::string path = WriteTemp("empty.pt", {});
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(Mentions(s, path)) << s.ToString();
  std::filesystem::remove(path);
}

TEST(StateDictReaderTest, TruncatedCopiesAreCorruption) {
  const std::vector<char> full = ReadBytes(kPhaseNetPath);
  ASSERT_GT(full.size(), 100000u);
  // Cut inside the central directory, inside a storage record, and right after the header.
  for (size_t keep : {full.size() - 10, full.size() / 2, size_t{100}}) {
    const std::string path = WriteTemp("truncated_" + std::to_string(keep) + ".pt",
                                       std::vector<char>(full.begin(), full.begin() + keep));
    StateDict dict;
    Status s = ReadStateDict(path, &dict);
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << keep << ": " << s.ToString();
    EXPECT_TRUE(Mentions(s, path)) << s.ToString();
    EXPECT_TRUE(dict.empty());
    std::filesystem::remove(path);
  }
}

// Overwrites the first opcode after PROTO in data.pkl (GLOBAL 'collections OrderedDict') inside a
// copy of the file. The zip member's CRC no longer matches, and the opcode is invalid anyway.
TEST(StateDictReaderTest, DamagedDataPklIsCorruption) {
  std::vector<char> bytes = ReadBytes(kPhaseNetPath);
  const std::string needle = std::string("\x80\x02") + "ccollections\nOrderedDict\n";
  auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  ASSERT_NE(it, bytes.end());
  it[2] = '\xfe';
  const std::string path = WriteTemp("damaged.pt", bytes);
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(Mentions(s, path)) << s.ToString();
  std::filesystem::remove(path);
}

// forbidden_global.pt: data.pkl is `os.system('echo pwned')` (hand-assembled; make_fixtures.py).
TEST(StateDictReaderTest, ForbiddenGlobalIsRejected) {
  const std::string path = kFixtureDir + "/forbidden_global.pt";
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(Mentions(s, path)) << s.ToString();
  EXPECT_TRUE(Mentions(s, "'os system'")) << s.ToString();
}

TEST(StateDictReaderTest, TruncatedPickleIsCorruption) {
  const std::string path = kFixtureDir + "/truncated_pickle.pt";
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(Mentions(s, path)) << s.ToString();
  EXPECT_TRUE(Mentions(s, "truncated")) << s.ToString();
}

TEST(StateDictReaderTest, ViewOutsideStorageIsCorruption) {
  const std::string path = kFixtureDir + "/bad_view.pt";
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(Mentions(s, "storage with 3 elements")) << s.ToString();
}

// expanded_view.pt: one stored float viewed 2^30 times with stride 0. Copying it out would take
// 4 GiB; the reader refuses before allocating.
TEST(StateDictReaderTest, ExpandingViewIsCorruption) {
  const std::string path = kFixtureDir + "/expanded_view.pt";
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(Mentions(s, path)) << s.ToString();
  EXPECT_TRUE(Mentions(s, "shared references or overlapping views")) << s.ToString();
  EXPECT_TRUE(dict.empty());
}

// torch >= 2.1 records the storages' byte order; only little-endian ones are read.
TEST(StateDictReaderTest, ByteOrderRecordIsChecked) {
  StateDict dict;
  Status s = ReadStateDict(kFixtureDir + "/little_endian.pt", &dict);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(dict.Find("w")->ToFloat(), (std::vector<float>{1.0f, 2.0f, 3.0f}));

  const std::string path = kFixtureDir + "/big_endian.pt";
  s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_TRUE(Mentions(s, path + ": storages are in 'big' byte order")) << s.ToString();
  EXPECT_TRUE(dict.empty());
}

// A golden forward file is a dict too, but holds strings and lists next to its tensors.
TEST(StateDictReaderTest, NonTensorEntryIsInvalidArgument) {
  const std::string path = std::string(RAPID_TEST_DATA_DIR) + "/golden/forward/phasenet_original.pt";
  StateDict dict;
  Status s = ReadStateDict(path, &dict);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_TRUE(Mentions(s, "'model'")) << s.ToString();
  EXPECT_TRUE(dict.empty());
}

// golden_like.pt (make_fixtures.py): the general ReadTorchSave path over every scalar kind,
// tuples, one-element lists (APPEND) and nested dicts.
TEST(StateDictReaderTest, ReadTorchSaveGeneralValues) {
  PyValue root;
  Status s = ReadTorchSave(kFixtureDir + "/golden_like.pt", &root);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(root.kind, PyValue::Kind::kDict);
  ASSERT_NE(root.Find("model"), nullptr);
  EXPECT_EQ(root.Find("model")->string_value, "tiny");
  EXPECT_EQ(root.Find("no_such_key"), nullptr);

  const PyValue* sources = root.Find("window_sources");
  ASSERT_NE(sources, nullptr);
  ASSERT_EQ(sources->kind, PyValue::Kind::kList);
  ASSERT_EQ(sources->items.size(), 1u);
  EXPECT_EQ(sources->items[0].string_value, "ramp 0..11");

  const PyValue* args = root.Find("model_args");
  ASSERT_NE(args, nullptr);
  ASSERT_EQ(args->kind, PyValue::Kind::kDict);
  auto arg = [&](const char* name) {
    const PyValue* v = args->Find(name);
    EXPECT_NE(v, nullptr) << name;
    return v ? *v : PyValue();
  };
  EXPECT_EQ(arg("in_channels").int_value, 3);        // BININT1
  EXPECT_EQ(arg("length").int_value, 6000);          // BININT2
  EXPECT_EQ(arg("offset").int_value, -5);            // BININT
  EXPECT_EQ(arg("big").int_value, -(int64_t{1} << 40));  // LONG1
  EXPECT_EQ(arg("sampling_rate").kind, PyValue::Kind::kFloat);
  EXPECT_EQ(arg("sampling_rate").float_value, 100.0);  // BINFLOAT
  EXPECT_EQ(arg("flag").kind, PyValue::Kind::kBool);
  EXPECT_TRUE(arg("flag").bool_value);
  EXPECT_FALSE(arg("off").bool_value);
  EXPECT_EQ(arg("nothing").kind, PyValue::Kind::kNone);

  const PyValue* shape = root.Find("shape");
  ASSERT_NE(shape, nullptr);
  ASSERT_EQ(shape->kind, PyValue::Kind::kTuple);
  ASSERT_EQ(shape->items.size(), 3u);
  EXPECT_EQ(shape->items[2].int_value, 4);

  const PyValue* output = root.Find("output");
  ASSERT_NE(output, nullptr);
  ASSERT_NE(output->Find("S"), nullptr);
  ASSERT_EQ(output->Find("S")->kind, PyValue::Kind::kTensor);
  // S is the view at offset 8 of the ramp that `raw` views whole: the ramp's last four elements.
  EXPECT_EQ(output->Find("S")->tensor.shape, (std::vector<int64_t>{1, 1, 4}));
  EXPECT_EQ(output->Find("S")->tensor.ToFloat(), (std::vector<float>{8.0f, 9.0f, 10.0f, 11.0f}));
  const std::vector<float> raw = root.Find("raw")->tensor.ToFloat();
  EXPECT_EQ(std::vector<float>(raw.begin() + 8, raw.end()), output->Find("S")->tensor.ToFloat());
}

TEST(StateDictReaderTest, ReadTorchSaveErrorsLeaveNone) {
  PyValue root;
  root.kind = PyValue::Kind::kInt;
  Status s = ReadTorchSave(kFixtureDir + "/forbidden_global.pt", &root);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(root.kind, PyValue::Kind::kNone);
}

// Compares a PyValue with what libtorch's own unpickler made of the same file.
void ExpectSameAsLibtorch(const PyValue& v, const c10::IValue& iv, const std::string& where) {
  switch (v.kind) {
    case PyValue::Kind::kNone:
      EXPECT_TRUE(iv.isNone()) << where;
      break;
    case PyValue::Kind::kBool:
      ASSERT_TRUE(iv.isBool()) << where;
      EXPECT_EQ(v.bool_value, iv.toBool()) << where;
      break;
    case PyValue::Kind::kInt:
      ASSERT_TRUE(iv.isInt()) << where;
      EXPECT_EQ(v.int_value, iv.toInt()) << where;
      break;
    case PyValue::Kind::kFloat:
      ASSERT_TRUE(iv.isDouble()) << where;
      EXPECT_EQ(v.float_value, iv.toDouble()) << where;
      break;
    case PyValue::Kind::kString:
      ASSERT_TRUE(iv.isString()) << where;
      EXPECT_EQ(v.string_value, iv.toStringRef()) << where;
      break;
    case PyValue::Kind::kTuple: {
      ASSERT_TRUE(iv.isTuple()) << where;
      const auto& elements = iv.toTupleRef().elements();
      ASSERT_EQ(v.items.size(), elements.size()) << where;
      for (size_t i = 0; i < elements.size(); ++i) {
        ExpectSameAsLibtorch(v.items[i], elements[i], where + "[" + std::to_string(i) + "]");
      }
      break;
    }
    case PyValue::Kind::kList: {
      ASSERT_TRUE(iv.isList()) << where;
      const auto elements = iv.toListRef();
      ASSERT_EQ(v.items.size(), elements.size()) << where;
      for (size_t i = 0; i < elements.size(); ++i) {
        ExpectSameAsLibtorch(v.items[i], elements[i], where + "[" + std::to_string(i) + "]");
      }
      break;
    }
    case PyValue::Kind::kDict: {
      ASSERT_TRUE(iv.isGenericDict()) << where;
      const auto dict = iv.toGenericDict();
      ASSERT_EQ(v.entries.size(), dict.size()) << where;
      size_t i = 0;
      for (const auto& item : dict) {  // c10::Dict keeps insertion order
        ExpectSameAsLibtorch(v.entries[i].first, item.key(), where + ".key" + std::to_string(i));
        ExpectSameAsLibtorch(v.entries[i].second, item.value(), where + "." + item.key().tagKind());
        ++i;
      }
      break;
    }
    case PyValue::Kind::kTensor: {
      ASSERT_TRUE(iv.isTensor()) << where;
      // libtorch keeps views (strides, storage offset); ours are contiguous copies of the same
      // elements.
      const at::Tensor& ref = iv.toTensor();
      const at::Tensor mine = ToAtTensor(v.tensor);
      EXPECT_EQ(mine.scalar_type(), ref.scalar_type()) << where;
      EXPECT_EQ(mine.sizes(), ref.sizes()) << where;
      EXPECT_TRUE(at::equal(mine, ref)) << where;
      break;
    }
  }
}

// Cross-check against an independent implementation: libtorch's unpickler reads plain dicts
// without APPEND correctly, so both readers must produce the same values.
TEST(StateDictReaderTest, AgreesWithLibtorchUnpickler) {
  for (const std::string path : {kFixtureDir + "/plain_dict.pt",
                                 std::string(RAPID_TEST_DATA_DIR) + "/golden/forward/phasenet_original.pt"}) {
    PyValue mine;
    Status s = ReadTorchSave(path, &mine);
    ASSERT_TRUE(s.ok()) << s.ToString();
    const std::vector<char> bytes = ReadBytes(path);
    const c10::IValue theirs = torch::jit::pickle_load(bytes);
    ExpectSameAsLibtorch(mine, theirs, path);
  }
}

}  // namespace
}  // namespace rapid
