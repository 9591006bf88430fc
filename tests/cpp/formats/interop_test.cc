// Cross-checks with the Python reference libraries (gguf-py, safetensors, transformers), driven by
// tests/reference/test_formats_reference.py: it writes files with the Python libraries and runs
// Interop.ReadsPythonWrittenFiles with CIPHERLORA_PY_SAMPLES_DIR set, and runs
// Interop.WritesFilesForPython with CIPHERLORA_CPP_SAMPLES_DIR set, then checks those files with
// the Python libraries. Both tests skip when their variable is unset. The constants below are
// mirrored in the pytest.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "formats/hf_checkpoint.h"
#include "formats/safetensors.h"
#include "formats/test_util.h"

namespace cipherlora {
namespace {

using test::expect_error;

// Compares every tensor of `expected` (fp32 values written by Python) with `read(name)`.
template <typename Read>
void expect_all_match(const SafetensorsFile& expected, Read read) {
  ASSERT_FALSE(expected.tensors().empty());
  for (const SafetensorsTensorInfo& e : expected.tensors()) {
    const std::vector<float> want = expected.read_f32(e.name);
    const std::vector<float> got = read(e.name);
    EXPECT_TRUE(test::same_bits(got, want)) << e.name;
  }
}

TEST(Interop, ReadsPythonWrittenFiles) {
  const char* dir_env = std::getenv("CIPHERLORA_PY_SAMPLES_DIR");
  if (dir_env == nullptr) GTEST_SKIP() << "CIPHERLORA_PY_SAMPLES_DIR not set";
  const std::string dir = dir_env;

  // GGUF written by gguf-py's GGUFWriter; tensors quantized by gguf.quants.
  GgufFile gguf = GgufFile::open(dir + "/py_samples.gguf");
  EXPECT_EQ(gguf.alignment(), 64u);
  EXPECT_EQ(gguf.get_string("general.architecture"), "test");
  EXPECT_EQ(gguf.get_int("t.u8"), 200);
  EXPECT_EQ(gguf.get_int("t.i8"), -5);
  EXPECT_EQ(gguf.get_int("t.u16"), 60000);
  EXPECT_EQ(gguf.get_int("t.i16"), -30000);
  EXPECT_EQ(gguf.get_int("t.u32"), 4000000000);
  EXPECT_EQ(gguf.get_int("t.i32"), -2000000000);
  EXPECT_EQ(gguf.get_float("t.f32"), 1.5);
  EXPECT_TRUE(gguf.get_bool("t.bool"));
  EXPECT_EQ(gguf.get_string("t.str"), "h\xc3\xa9llo");
  EXPECT_EQ(gguf.get_int("t.u64"), (int64_t{1} << 40) + 3);
  EXPECT_EQ(gguf.get_int("t.i64"), -(int64_t{1} << 40));
  EXPECT_EQ(gguf.get_float("t.f64"), 0.1);
  EXPECT_EQ(gguf.get_string_array("t.strs"),
            (std::vector<std::string>{"a", "b c", "\xe2\x96\x81x"}));
  EXPECT_EQ(gguf.get_int_array("t.ints"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(gguf.get_int_array("t.u16s"), (std::vector<int64_t>{7, 65535}));
  EXPECT_EQ(gguf.get_float_array("t.floats"), (std::vector<double>{0.5, -0.25}));
  EXPECT_EQ(gguf.value_type("t.nested"), static_cast<uint32_t>(GgufValueType::ARRAY));
  EXPECT_EQ(gguf.get_string("t.after_nested"), "ok");
  SafetensorsFile gguf_expected = SafetensorsFile::open(dir + "/py_gguf_expected.safetensors");
  for (const SafetensorsTensorInfo& e : gguf_expected.tensors()) {
    const GgufTensorInfo* t = gguf.find_tensor(e.name);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_EQ(std::vector<int64_t>(t->dims.rbegin(), t->dims.rend()), e.shape) << e.name;
  }
  expect_all_match(gguf_expected, [&](const std::string& name) { return gguf.read_f32(name); });

  // safetensors written by safetensors.torch, F32 / F16 / BF16 (+ an I64 we must refuse).
  SafetensorsFile st = SafetensorsFile::open(dir + "/py_samples.safetensors");
  EXPECT_EQ(st.metadata().at("format"), "pt");
  EXPECT_EQ(st.find("f16")->dtype, "F16");
  EXPECT_EQ(st.find("bf16")->dtype, "BF16");
  EXPECT_EQ(st.find("f32")->shape, (std::vector<int64_t>{3, 4}));
  expect_error([&] { st.read_f32("i64"); }, {"dtype I64"});
  SafetensorsFile st_expected = SafetensorsFile::open(dir + "/py_safetensors_expected.safetensors");
  expect_all_match(st_expected, [&](const std::string& name) { return st.read_f32(name); });

  // A sharded bf16 checkpoint saved by transformers' save_pretrained.
  HfCheckpoint hf = HfCheckpoint::open(dir + "/hf_tiny");
  EXPECT_EQ(hf.config().at("hidden_size").get<int>(), 64);
  SafetensorsFile hf_expected = SafetensorsFile::open(dir + "/hf_expected.safetensors");
  std::vector<std::string> expected_names;
  for (const SafetensorsTensorInfo& e : hf_expected.tensors()) {
    expected_names.push_back(e.name);
    EXPECT_EQ(hf.shape(e.name), e.shape) << e.name;
    EXPECT_EQ(hf.dtype(e.name), "BF16") << e.name;
  }
  std::sort(expected_names.begin(), expected_names.end());
  EXPECT_EQ(hf.tensor_names(), expected_names);
  expect_all_match(hf_expected, [&](const std::string& name) { return hf.read_f32(name); });
}

// Deterministic sample values, exact in fp32 (and re-computed the same way in the pytest).
float sample_value(int64_t i) {
  return static_cast<float>((i * 37) % 101 - 50) * 0.125f;
}
// Odd i give exact ties between two fp16 values (1 + (2(i/2)+1)/2048 in [1, 2), fp16 steps are
// 1/1024), so the fp16 tensor checks round-to-nearest-even against numpy.
float sample_value_f16(int64_t i) {
  if (i % 2 == 1) return static_cast<float>(1.0 + static_cast<double>(2 * (i / 2) + 1) / 2048.0);
  return static_cast<float>(static_cast<double>((i * 37) % 101 - 50) / 7.0);
}

TEST(Interop, WritesFilesForPython) {
  const char* dir_env = std::getenv("CIPHERLORA_CPP_SAMPLES_DIR");
  if (dir_env == nullptr) GTEST_SKIP() << "CIPHERLORA_CPP_SAMPLES_DIR not set";
  const std::string dir = dir_env;

  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("t.u32", 7);
  w.set_i32("t.i32", -3);
  w.set_u64("t.u64", uint64_t{1} << 40);
  w.set_f32("t.f32", 0.25f);
  w.set_bool("t.bool", true);
  w.set_string_array("t.strs", {"a", "b c"});
  w.set_i32_array("t.ints", {1, -2, 3});
  std::vector<float> f32(8 * 3), f16(32 * 2);
  for (size_t i = 0; i < f32.size(); ++i) f32[i] = sample_value(static_cast<int64_t>(i));
  for (size_t i = 0; i < f16.size(); ++i) f16[i] = sample_value_f16(static_cast<int64_t>(i));
  w.add_tensor_f32("f32", {8, 3}, f32);  // 3 rows of 8
  w.add_tensor_f16("f16", {32, 2}, f16);
  w.write(dir + "/cpp_samples.gguf");

  std::vector<float> a(4), b(2 * 3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = sample_value(static_cast<int64_t>(i));
  for (size_t i = 0; i < b.size(); ++i) b[i] = sample_value(static_cast<int64_t>(i + 100));
  write_safetensors(dir + "/cpp_samples.safetensors", {{"b", {2, 3}, b}, {"a", {4}, a}},
                    {{"format", "pt"}});
}

}  // namespace
}  // namespace cipherlora
