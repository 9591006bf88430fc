#include "formats/gguf_reader.h"

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include "formats/gguf_writer.h"
#include "formats/safetensors.h"
#include "formats/test_util.h"

namespace cipherlora {
namespace {

using test::Bytes;
using test::expect_error;
using test::TempDir;

// A GGUF file assembled byte by byte from the format definition, independent of GgufWriter.
struct GgufBuild {
  uint32_t version = 3;
  uint64_t alignment = 32;
  Bytes kvs;
  uint64_t n_kv = 0;
  Bytes infos;
  uint64_t n_tensors = 0;
  std::vector<uint8_t> data;

  // Key + u32 type tag + already-encoded value bytes.
  GgufBuild& kv(const std::string& key, GgufValueType type, const Bytes& value) {
    kvs.str(key).u32(static_cast<uint32_t>(type)).raw(value.b);
    ++n_kv;
    return *this;
  }
  GgufBuild& info(const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                  uint64_t offset) {
    infos.str(name).u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) infos.u64(d);
    infos.u32(type).u64(offset);
    ++n_tensors;
    return *this;
  }
  // Appends the tensor's bytes at the next aligned offset of the data section.
  GgufBuild& tensor(const std::string& name, const std::vector<uint64_t>& dims, GgufType type,
                    const std::vector<uint8_t>& bytes) {
    data.resize((data.size() + alignment - 1) / alignment * alignment);
    info(name, dims, static_cast<uint32_t>(type), data.size());
    data.insert(data.end(), bytes.begin(), bytes.end());
    return *this;
  }
  std::vector<uint8_t> build() const {
    Bytes out;
    out.u8('G').u8('G').u8('U').u8('F').u32(version).u64(n_tensors).u64(n_kv);
    out.raw(kvs.b).raw(infos.b);
    out.zeros((alignment - out.b.size() % alignment) % alignment);
    out.raw(data);
    return out.b;
  }
};

Bytes u32v(uint32_t v) {
  return Bytes().u32(v);
}

std::vector<uint8_t> floats_bytes(const std::vector<float>& v) {
  std::vector<uint8_t> out(v.size() * 4);
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// A valid file with metadata and one 32-byte tensor, so that it ends exactly with tensor data.
std::vector<uint8_t> small_valid_file() {
  GgufBuild g;
  g.kv("general.architecture", GgufValueType::STRING, Bytes().str("llama"));
  g.kv("a.count", GgufValueType::U32, u32v(7));
  g.kv("a.list", GgufValueType::ARRAY, Bytes().u32(8).u64(2).str("x").str("yz"));
  g.tensor("w", {8}, GgufType::F32, floats_bytes({1, 2, 3, 4, 5, 6, 7, 8}));
  return g.build();
}

GgufFile open_bytes(const TempDir& dir, const std::vector<uint8_t>& bytes) {
  const std::string path = dir.file("t.gguf");
  test::write_bytes(path, bytes);
  return GgufFile::open(path);
}

void expect_rejected(const std::vector<uint8_t>& bytes, const std::vector<std::string>& parts) {
  TempDir dir;
  const std::string path = dir.file("bad.gguf");
  test::write_bytes(path, bytes);
  std::vector<std::string> all = parts;
  all.push_back(path);
  expect_error([&] { GgufFile::open(path); }, all);
}

// ---- metadata ----

TEST(GgufReader, ReadsEveryMetadataValueType) {
  TempDir dir;
  GgufBuild g;
  g.kv("u8", GgufValueType::U8, Bytes().u8(200));
  g.kv("i8", GgufValueType::I8, Bytes().put<int8_t>(-5));
  g.kv("u16", GgufValueType::U16, Bytes().u16(60000));
  g.kv("i16", GgufValueType::I16, Bytes().put<int16_t>(-30000));
  g.kv("u32", GgufValueType::U32, u32v(4000000000u));
  g.kv("i32", GgufValueType::I32, Bytes().put<int32_t>(-2000000000));
  g.kv("f32", GgufValueType::F32, Bytes().put<float>(1.5f));
  g.kv("bool", GgufValueType::BOOL, Bytes().u8(1));
  g.kv("string", GgufValueType::STRING, Bytes().str("h\xc3\xa9llo"));
  g.kv("u64", GgufValueType::U64, Bytes().u64((uint64_t{1} << 40) + 3));
  g.kv("i64", GgufValueType::I64, Bytes().put<int64_t>(-(int64_t{1} << 40)));
  g.kv("f64", GgufValueType::F64, Bytes().put<double>(0.1));
  g.kv("u64.big", GgufValueType::U64, Bytes().u64(uint64_t{1} << 63));
  g.kv("arr.u8", GgufValueType::ARRAY, Bytes().u32(0).u64(3).u8(1).u8(2).u8(255));
  g.kv("arr.i16", GgufValueType::ARRAY, Bytes().u32(3).u64(2).put<int16_t>(-7).put<int16_t>(9));
  g.kv("arr.str", GgufValueType::ARRAY, Bytes().u32(8).u64(3).str("a").str("").str("ccc"));
  g.kv("arr.f32", GgufValueType::ARRAY, Bytes().u32(6).u64(2).put<float>(0.5f).put<float>(-2));
  g.kv("arr.f64", GgufValueType::ARRAY, Bytes().u32(12).u64(1).put<double>(0.25));
  g.kv("arr.bool", GgufValueType::ARRAY, Bytes().u32(7).u64(2).u8(0).u8(1));
  g.kv("arr.empty", GgufValueType::ARRAY, Bytes().u32(5).u64(0));
  // [[1, 2], [3]] as i32, then an array of arrays of strings.
  g.kv("arr.nested", GgufValueType::ARRAY,
       Bytes()
           .u32(9)
           .u64(2)
           .u32(5)
           .u64(2)
           .put<int32_t>(1)
           .put<int32_t>(2)
           .u32(5)
           .u64(1)
           .put<int32_t>(3));
  g.kv("arr.nested.str", GgufValueType::ARRAY, Bytes().u32(9).u64(1).u32(8).u64(1).str("deep"));
  g.kv("last", GgufValueType::STRING, Bytes().str("end"));
  GgufFile f = open_bytes(dir, g.build());

  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_int("u8"), 200);
  EXPECT_EQ(f.get_int("i8"), -5);
  EXPECT_EQ(f.get_int("u16"), 60000);
  EXPECT_EQ(f.get_int("i16"), -30000);
  EXPECT_EQ(f.get_int("u32"), 4000000000);
  EXPECT_EQ(f.get_int("i32"), -2000000000);
  EXPECT_EQ(f.get_float("f32"), 1.5);
  EXPECT_TRUE(f.get_bool("bool"));
  EXPECT_EQ(f.get_int("bool"), 1);
  EXPECT_EQ(f.get_string("string"), "h\xc3\xa9llo");
  EXPECT_EQ(f.get_int("u64"), (int64_t{1} << 40) + 3);
  EXPECT_EQ(f.get_int("i64"), -(int64_t{1} << 40));
  EXPECT_EQ(f.get_float("f64"), 0.1);
  EXPECT_EQ(f.get_float("i8"), -5.0);
  EXPECT_EQ(f.get_int_array("arr.u8"), (std::vector<int64_t>{1, 2, 255}));
  EXPECT_EQ(f.get_int_array("arr.i16"), (std::vector<int64_t>{-7, 9}));
  EXPECT_EQ(f.get_int_array("arr.bool"), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(f.get_int_array("arr.empty"), (std::vector<int64_t>{}));
  EXPECT_EQ(f.get_string_array("arr.str"), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(f.get_float_array("arr.f32"), (std::vector<double>{0.5, -2}));
  EXPECT_EQ(f.get_float_array("arr.f64"), (std::vector<double>{0.25}));
  EXPECT_EQ(f.get_string("last"), "end");  // parsing continued correctly past the nested arrays
  EXPECT_EQ(f.value_type("arr.nested"), static_cast<uint32_t>(GgufValueType::ARRAY));
  EXPECT_EQ(f.keys().size(), 23u);
  EXPECT_EQ(f.keys().front(), "u8");
  EXPECT_EQ(f.keys().back(), "last");
  EXPECT_TRUE(f.has("f64"));
  EXPECT_FALSE(f.has("nope"));
  EXPECT_EQ(f.get_int_or("nope", 42), 42);
  EXPECT_EQ(f.get_int_or("u8", 42), 200);
  EXPECT_EQ(f.get_float_or("nope", 0.5), 0.5);
  EXPECT_FALSE(f.get_string_or_none("nope").has_value());
  EXPECT_EQ(f.get_string_or_none("last").value(), "end");
  EXPECT_TRUE(f.tensors().empty());

  const std::string p = f.path();
  expect_error([&] { f.get_string("nope"); }, {"gguf " + p, "key nope missing"});
  expect_error([&] { f.get_string("u32"); }, {p, "key u32 has type u32, expected string"});
  expect_error([&] { f.get_int("string"); }, {p, "has type string"});
  expect_error([&] { f.get_int("f32"); }, {p, "has type f32"});
  expect_error([&] { f.get_bool("u8"); }, {p, "expected bool"});
  expect_error([&] { f.get_float("string"); }, {p, "expected a number"});
  expect_error([&] { f.get_int("u64.big"); }, {p, "does not fit in int64"});
  expect_error([&] { f.get_string_array("arr.nested"); }, {p, "array of array"});
  expect_error([&] { f.get_int_array("arr.str"); }, {p, "array of string"});
  expect_error([&] { f.get_string_array("u8"); }, {p, "has type u8"});
  expect_error([&] { f.get_float_array("arr.str"); }, {p, "array of string"});
}

TEST(GgufReader, WriterRoundTrip) {
  TempDir dir;
  const std::string path = dir.file("w.gguf");
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.block_count", 30);
  w.set_i32("neg", -12);
  w.set_u64("big", uint64_t{1} << 40);
  w.set_f32("eps", 1e-5f);
  w.set_bool("flag", true);
  w.set_string_array("tokens", {"<s>", "a", "\xe2\x96\x81the"});
  w.set_i32_array("types", {1, -2, 3});
  w.set_u32("llama.block_count", 31);               // replaces, keeps position
  const std::vector<float> m = {0, 1, 2, 3, 4, 5};  // [2 rows, 3 cols]
  w.add_tensor_f32("m", {3, 2}, m);
  const std::vector<float> h = {0.5f, -2.0f, 65504.0f, 0.0999755859375f};  // fp16-exact
  w.add_tensor_f16("h", {4}, h);
  w.write(path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

  // Header bytes by the format definition: magic, version 3, 2 tensors, 8 kvs.
  const std::vector<uint8_t> raw = test::read_bytes(path);
  const std::vector<uint8_t> head = Bytes().u8('G').u8('G').u8('U').u8('F').u32(3).u64(2).u64(8).b;
  ASSERT_GE(raw.size(), head.size());
  EXPECT_TRUE(std::equal(head.begin(), head.end(), raw.begin()));

  GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.keys(), (std::vector<std::string>{"general.architecture", "llama.block_count", "neg",
                                                "big", "eps", "flag", "tokens", "types"}));
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("llama.block_count"), 31);
  EXPECT_EQ(f.value_type("llama.block_count"), static_cast<uint32_t>(GgufValueType::U32));
  EXPECT_EQ(f.get_int("neg"), -12);
  EXPECT_EQ(f.get_int("big"), int64_t{1} << 40);
  EXPECT_EQ(f.get_float("eps"), static_cast<double>(1e-5f));
  EXPECT_TRUE(f.get_bool("flag"));
  EXPECT_EQ(f.get_string_array("tokens"),
            (std::vector<std::string>{"<s>", "a", "\xe2\x96\x81the"}));
  EXPECT_EQ(f.get_int_array("types"), (std::vector<int64_t>{1, -2, 3}));

  ASSERT_EQ(f.tensors().size(), 2u);
  const GgufTensorInfo* tm = f.find_tensor("m");
  ASSERT_NE(tm, nullptr);
  EXPECT_EQ(tm->dims, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(tm->type, static_cast<uint32_t>(GgufType::F32));
  EXPECT_EQ(tm->n_elements(), 6);
  EXPECT_EQ(tm->offset, 0u);
  EXPECT_EQ(f.read_f32(*tm), m);  // dims [3, 2] = 2 rows of 3, stored row-major
  const GgufTensorInfo* th = f.find_tensor("h");
  ASSERT_NE(th, nullptr);
  EXPECT_EQ(th->type, static_cast<uint32_t>(GgufType::F16));
  EXPECT_EQ(th->offset, 32u);  // 24 bytes of m padded to the 32-byte alignment
  EXPECT_EQ(f.read_f32("h"), h);
  EXPECT_EQ(f.find_tensor("absent"), nullptr);
  expect_error([&] { f.read_f32("absent"); }, {path, "tensor absent missing"});
}

TEST(GgufReader, HonoursGeneralAlignment) {
  TempDir dir;
  GgufWriter w;
  w.set_alignment(64);
  w.add_tensor_f32("a", {5}, {1, 2, 3, 4, 5});
  w.add_tensor_f32("b", {2}, {6, 7});
  w.write(dir.file("a.gguf"));
  GgufFile f = GgufFile::open(dir.file("a.gguf"));
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.find_tensor("b")->offset, 64u);
  EXPECT_EQ(f.read_f32("a"), (std::vector<float>{1, 2, 3, 4, 5}));
  EXPECT_EQ(f.read_f32("b"), (std::vector<float>{6, 7}));

  // Hand-built with alignment 16: data starts at the header end rounded up to 16, not 32.
  GgufBuild g;
  g.alignment = 16;
  g.kv("general.alignment", GgufValueType::U32, u32v(16));
  g.tensor("x", {2}, GgufType::F32, floats_bytes({3.5f, -1}));
  g.tensor("y", {1}, GgufType::F32, floats_bytes({9}));
  GgufFile f16 = open_bytes(dir, g.build());
  EXPECT_EQ(f16.find_tensor("y")->offset, 16u);
  EXPECT_EQ(f16.read_f32("x"), (std::vector<float>{3.5f, -1}));
  EXPECT_EQ(f16.read_f32("y"), (std::vector<float>{9}));
}

TEST(GgufReader, MovedFileKeepsItsMapping) {
  TempDir dir;
  GgufFile a = open_bytes(dir, small_valid_file());
  GgufFile b = std::move(a);
  EXPECT_EQ(b.read_f32("w"), (std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8}));
  GgufFile c = open_bytes(dir, small_valid_file());
  c = std::move(b);
  EXPECT_EQ(c.get_string_array("a.list"), (std::vector<std::string>{"x", "yz"}));
  EXPECT_EQ(c.read_f32(*c.find_tensor("w"))[7], 8.0f);
}

// ---- tensor types, dequantized from hand-built blocks ----

TEST(GgufReader, DequantizesQ8_0) {
  const uint16_t ds[] = {0x3c00, 0x2e66, 0x0001, 0xb800};  // 1.0, ~0.1, 2^-24, -0.5
  std::vector<uint8_t> bytes;
  std::vector<float> want;
  for (int b = 0; b < 4; ++b) {
    bytes.push_back(ds[b] & 0xff);
    bytes.push_back(ds[b] >> 8);
    const float d = static_cast<float>(test::fp16_value(ds[b]));
    for (int j = 0; j < 32; ++j) {
      const int8_t q = static_cast<int8_t>((b * 32 + j) * 37 % 256 - 128);  // covers -128..127
      bytes.push_back(static_cast<uint8_t>(q));
      want.push_back(static_cast<float>(q) * d);
    }
  }
  TempDir dir;
  GgufBuild g;
  g.tensor("q", {64, 2}, GgufType::Q8_0, bytes);
  GgufFile f = open_bytes(dir, g.build());
  EXPECT_EQ(f.find_tensor("q")->nbytes, 4u * 34);
  EXPECT_TRUE(test::same_bits(f.read_f32("q"), want));
  EXPECT_EQ(GgufFile::type_name(f.find_tensor("q")->type), "Q8_0");
}

// Packs 32 nibbles: low nibbles of the 16 bytes are elements 0-15, high nibbles 16-31.
std::vector<uint8_t> pack_nibbles(const uint8_t q[32]) {
  std::vector<uint8_t> out(16);
  for (int j = 0; j < 16; ++j) out[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
  return out;
}

TEST(GgufReader, DequantizesQ4_0) {
  const uint16_t ds[] = {0x2e66, 0xc500, 0x0203};  // ~0.1, -5.0, a subnormal
  std::vector<uint8_t> bytes;
  std::vector<float> want;
  for (int b = 0; b < 3; ++b) {
    bytes.push_back(ds[b] & 0xff);
    bytes.push_back(ds[b] >> 8);
    const float d = static_cast<float>(test::fp16_value(ds[b]));
    uint8_t q[32];
    for (int j = 0; j < 32; ++j) {
      q[j] = static_cast<uint8_t>((j * 7 + (j / 16) * 5 + b * 3) % 16);  // halves differ
      want.push_back(static_cast<float>(q[j] - 8) * d);
    }
    const std::vector<uint8_t> packed = pack_nibbles(q);
    bytes.insert(bytes.end(), packed.begin(), packed.end());
  }
  TempDir dir;
  GgufBuild g;
  g.tensor("q", {32, 3}, GgufType::Q4_0, bytes);
  GgufFile f = open_bytes(dir, g.build());
  EXPECT_TRUE(test::same_bits(f.read_f32("q"), want));
}

TEST(GgufReader, DequantizesQ4_1) {
  // Block 3: q*d needs bits far below m's last bit, so the sum rounds.
  const uint16_t ds[] = {0x2e66, 0x1c00, 0x3555, 0x0003};
  const uint16_t ms[] = {0xbccd, 0x5640, 0xc2aa, 0x3c01};
  std::vector<uint8_t> bytes;
  std::vector<float> want;
  for (int b = 0; b < 4; ++b) {
    for (uint16_t h : {ds[b], ms[b]}) {
      bytes.push_back(h & 0xff);
      bytes.push_back(h >> 8);
    }
    const float d = static_cast<float>(test::fp16_value(ds[b]));
    const float m = static_cast<float>(test::fp16_value(ms[b]));
    uint8_t q[32];
    for (int j = 0; j < 32; ++j) {
      q[j] = static_cast<uint8_t>((j * 5 + (j / 16) * 3 + b) % 16);  // halves differ
      const float dq = d * static_cast<float>(q[j]);  // numpy: (d * qs) + m, each rounded
      want.push_back(dq + m);
    }
    const std::vector<uint8_t> packed = pack_nibbles(q);
    bytes.insert(bytes.end(), packed.begin(), packed.end());
  }
  TempDir dir;
  GgufBuild g;
  g.tensor("q", {128}, GgufType::Q4_1, bytes);
  GgufFile f = open_bytes(dir, g.build());
  const std::vector<float> got = f.read_f32("q");
  EXPECT_TRUE(test::same_bits(got, want));
  EXPECT_EQ(got[16], want[16]);  // element 16 comes from the high nibble of byte 0
}

TEST(GgufReader, ReadsF16AndBf16Exactly) {
  const std::vector<uint16_t> halves = {0x3c00, 0x8001, 0x7bff, 0xfc00,
                                        0x0400, 0x2e66, 0x0000, 0xc000};
  const std::vector<uint16_t> bf = {0x3f80, 0xc049, 0x0001, 0x7f80, 0x8000, 0x4120, 0x3dcd, 0xff7f};
  Bytes hb, bb;
  for (uint16_t h : halves) hb.u16(h);
  for (uint16_t h : bf) bb.u16(h);
  TempDir dir;
  GgufBuild g;
  g.tensor("h", {4, 2}, GgufType::F16, hb.b);
  g.tensor("b", {8}, GgufType::BF16, bb.b);
  GgufFile f = open_bytes(dir, g.build());
  const std::vector<float> h = f.read_f32("h");
  for (size_t i = 0; i < halves.size(); ++i) EXPECT_EQ(h[i], test::fp16_value(halves[i])) << i;
  const std::vector<float> b = f.read_f32("b");
  for (size_t i = 0; i < bf.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(b[i]), static_cast<uint32_t>(bf[i]) << 16) << i;
  }
}

TEST(GgufReader, LargeQuantizedTensorIsSplitAcrossThreadsCorrectly) {
  // 4200 rows of 1024 (4.3M values): 17 parallel chunks of 256K, the last one partial.
  const int64_t n_blocks = 4200 * 32;
  std::vector<uint8_t> bytes;
  std::vector<float> want;
  for (int64_t b = 0; b < n_blocks; ++b) {
    const uint16_t d = static_cast<uint16_t>(0x2000 + b % 2048);
    bytes.push_back(d & 0xff);
    bytes.push_back(d >> 8);
    const float dv = static_cast<float>(test::fp16_value(d));
    for (int j = 0; j < 32; ++j) {
      const int8_t q = static_cast<int8_t>((b + j * 11) % 255 - 127);
      bytes.push_back(static_cast<uint8_t>(q));
      want.push_back(static_cast<float>(q) * dv);
    }
  }
  TempDir dir;
  GgufBuild g;
  g.tensor("big", {1024, 4200}, GgufType::Q8_0, bytes);
  GgufFile f = open_bytes(dir, g.build());
  EXPECT_TRUE(test::same_bits(f.read_f32("big"), want));
}

TEST(GgufReader, OpensButRefusesToDequantizeOtherTypes) {
  TempDir dir;
  GgufBuild g;
  g.tensor("k", {256}, static_cast<GgufType>(14), std::vector<uint8_t>(210, 1));  // Q6_K
  g.tensor("i", {3}, static_cast<GgufType>(26), std::vector<uint8_t>(12, 0));     // I32
  GgufFile f = open_bytes(dir, g.build());
  EXPECT_EQ(GgufFile::type_name(f.find_tensor("k")->type), "Q6_K");
  EXPECT_EQ(f.find_tensor("k")->nbytes, 210u);
  EXPECT_EQ(f.tensor_data(*f.find_tensor("k"))[0], 1);
  expect_error([&] { f.read_f32("k"); }, {f.path(), "tensor k has type Q6_K"});
  expect_error([&] { f.read_f32("i"); }, {f.path(), "type I32"});
}

// ---- rejection of damaged files ----

TEST(GgufReader, RejectsEveryTruncation) {
  const std::vector<uint8_t> full = small_valid_file();
  TempDir dir;
  const std::string path = dir.file("cut.gguf");
  test::write_bytes(path, full);
  EXPECT_EQ(GgufFile::open(path).read_f32("w")[0], 1.0f);
  for (size_t len = 0; len < full.size(); ++len) {
    test::write_bytes(path, std::vector<uint8_t>(full.begin(), full.begin() + len));
    SCOPED_TRACE("prefix length " + std::to_string(len));
    expect_error([&] { GgufFile::open(path); }, {"gguf " + path});
  }
}

TEST(GgufReader, RejectsMissingFile) {
  expect_error([] { GgufFile::open("/nonexistent/dir/m.gguf"); }, {"/nonexistent/dir/m.gguf"});
  TempDir dir;
  expect_error([&] { GgufFile::open(dir.path()); }, {dir.path(), "not a regular file"});
}

TEST(GgufReader, RejectsBadMagicAndVersion) {
  std::vector<uint8_t> b = small_valid_file();
  b[0] = 'X';
  expect_rejected(b, {"bad magic"});
  b = small_valid_file();
  b[4] = 1;
  expect_rejected(b, {"unsupported GGUF version 1"});
  b[4] = 4;
  expect_rejected(b, {"unsupported GGUF version 4"});
  b[4] = 0;
  b[7] = 3;
  expect_rejected(b, {"big-endian"});
  b = small_valid_file();
  b[4] = 2;  // v2 has the same layout
  TempDir dir;
  EXPECT_EQ(open_bytes(dir, b).version(), 2u);
}

TEST(GgufReader, RejectsCorruptLengthsAndCounts) {
  GgufBuild g;
  g.kvs.str("k").u32(8).u64(uint64_t{1} << 62);  // string value of length 2^62
  g.n_kv = 1;
  expect_rejected(g.build(), {"truncated or corrupt"});

  GgufBuild key;
  key.kvs.u64(~uint64_t{0}).zeros(16);  // key length 2^64-1
  key.n_kv = 1;
  expect_rejected(key.build(), {"truncated or corrupt"});

  GgufBuild kvs;
  kvs.n_kv = uint64_t{1} << 60;
  expect_rejected(kvs.build(), {"metadata count"});

  GgufBuild tensors;
  tensors.n_tensors = uint64_t{1} << 60;
  expect_rejected(tensors.build(), {"tensor count"});

  GgufBuild arr;  // array of 2^61 u32s
  arr.kv("a", GgufValueType::ARRAY, Bytes().u32(4).u64(uint64_t{1} << 61));
  expect_rejected(arr.build(), {"extends past the end"});

  GgufBuild sarr;  // array of 2^40 strings
  sarr.kv("a", GgufValueType::ARRAY, Bytes().u32(8).u64(uint64_t{1} << 40).str("x"));
  expect_rejected(sarr.build(), {"extends past the end"});

  GgufBuild type;
  type.kv("a", static_cast<GgufValueType>(13), Bytes().u32(0));
  expect_rejected(type.build(), {"unknown metadata value type 13"});

  GgufBuild elem;
  elem.kv("a", GgufValueType::ARRAY, Bytes().u32(77).u64(1).u32(0));
  expect_rejected(elem.build(), {"unknown array element type 77"});

  GgufBuild deep;  // arrays nested 20 deep
  Bytes nested;
  for (int i = 0; i < 20; ++i) nested.u32(9).u64(1);
  nested.u32(4).u64(0);
  deep.kv("a", GgufValueType::ARRAY, nested);
  expect_rejected(deep.build(), {"nested too deeply"});

  GgufBuild dup;
  dup.kv("a", GgufValueType::U32, u32v(1)).kv("a", GgufValueType::U32, u32v(2));
  expect_rejected(dup.build(), {"duplicate metadata key a"});

  for (uint32_t bad : {0u, 3u, 48u}) {
    GgufBuild align;
    align.kv("general.alignment", GgufValueType::U32, u32v(bad));
    expect_rejected(align.build(), {"general.alignment " + std::to_string(bad)});
  }
  GgufBuild align_type;
  align_type.kv("general.alignment", GgufValueType::STRING, Bytes().str("32"));
  expect_rejected(align_type.build(), {"general.alignment has type string"});
}

TEST(GgufReader, RejectsBadTensorInfos) {
  const std::vector<uint8_t> four_floats = floats_bytes({1, 2, 3, 4});
  auto with_info = [&](const std::string& name, const std::vector<uint64_t>& dims, uint32_t type,
                       uint64_t offset) {
    GgufBuild g;
    g.info(name, dims, type, offset);
    g.data = four_floats;
    return g.build();
  };
  expect_rejected(with_info("t", {1, 1, 1, 1, 1}, 0, 0), {"tensor t has 5 dims"});
  expect_rejected(with_info("t", {4, 0}, 0, 0), {"tensor t has a zero dim"});
  expect_rejected(with_info("t", {uint64_t{1} << 32, uint64_t{1} << 32}, 0, 0), {"overflows"});
  expect_rejected(with_info("t", {uint64_t{1} << 63}, 0, 0), {"tensor t"});
  expect_rejected(with_info("t", {2, uint64_t{1} << 61}, 0, 0), {"larger than the file"});
  expect_rejected(with_info("t", {33}, 3, 0), {"row length 33", "Q4_1 block size 32"});
  expect_rejected(with_info("t", {4}, 99, 0), {"tensor t has unknown type 99"});
  expect_rejected(with_info("t", {4}, 4, 0), {"unknown type 4"});
  expect_rejected(with_info("t", {5}, 0, 0), {"tensor t (offset 0, 20 bytes) extends past"});
  expect_rejected(with_info("t", {1}, 0, 64), {"extends past"});
  expect_rejected(with_info("t", {1}, 0, ~uint64_t{0} - 31), {"extends past"});
  expect_rejected(with_info("t", {1}, 0, 4), {"offset 4 is not a multiple of the alignment 32"});

  GgufBuild dup;
  dup.tensor("t", {4}, GgufType::F32, four_floats).tensor("t", {4}, GgufType::F32, four_floats);
  expect_rejected(dup.build(), {"duplicate tensor name t"});

  GgufBuild overlap;
  overlap.info("a", {16}, 0, 0).info("b", {4}, 0, 32);
  overlap.data = std::vector<uint8_t>(64, 0);
  expect_rejected(overlap.build(), {"tensors a and b overlap"});
}

TEST(GgufReader, SurvivesRandomCorruption) {
  // Flipped bytes anywhere must give a clean Error or a valid file, never a crash.
  const std::vector<uint8_t> base = small_valid_file();
  TempDir dir;
  const std::string path = dir.file("fuzz.gguf");
  std::mt19937 rng(1234);
  int opened = 0, rejected = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    std::vector<uint8_t> b = base;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    test::write_bytes(path, b);
    try {
      GgufFile f = GgufFile::open(path);
      for (const std::string& k : f.keys()) {
        try {
          f.get_string(k);
        } catch (const Error&) {
        }
      }
      for (const GgufTensorInfo& t : f.tensors()) {
        try {
          f.read_f32(t);
        } catch (const Error&) {
        }
      }
      ++opened;
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(opened, 0);
  EXPECT_GT(rejected, 0);
}

// ---- the real model (set CIPHERLORA_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf) ----

const char* real_model_path() {
  return std::getenv("CIPHERLORA_SMOLLM2_GGUF");
}

TEST(GgufRealModel, HeaderMatchesSmolLM2) {
  if (real_model_path() == nullptr) GTEST_SKIP() << "CIPHERLORA_SMOLLM2_GGUF not set";
  GgufFile f = GgufFile::open(real_model_path());
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_EQ(f.get_int("llama.block_count"), 30);
  EXPECT_EQ(f.get_int("llama.embedding_length"), 576);
  EXPECT_EQ(f.get_int("llama.feed_forward_length"), 1536);
  EXPECT_EQ(f.get_int("llama.attention.head_count"), 9);
  EXPECT_EQ(f.get_int("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.tokens").size(), 49152u);
  EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type").size(), 49152u);
  EXPECT_EQ(f.get_string_array("tokenizer.ggml.merges").size(), 48900u);
  EXPECT_EQ(f.tensors().size(), 272u);
  struct Expect {
    const char* name;
    std::vector<int64_t> dims;
    GgufType type;
  };
  const Expect expects[] = {
      {"token_embd.weight", {576, 49152}, GgufType::Q8_0},
      {"blk.0.attn_q.weight", {576, 576}, GgufType::Q4_1},
      {"blk.0.attn_k.weight", {576, 192}, GgufType::Q4_1},
      {"blk.0.ffn_down.weight", {1536, 576}, GgufType::Q4_1},
      {"blk.29.ffn_gate.weight", {576, 1536}, GgufType::Q4_1},
      {"blk.0.attn_norm.weight", {576}, GgufType::F32},
      {"output_norm.weight", {576}, GgufType::F32},
  };
  for (const Expect& e : expects) {
    const GgufTensorInfo* t = f.find_tensor(e.name);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_EQ(t->dims, e.dims) << e.name;
    EXPECT_EQ(t->type, static_cast<uint32_t>(e.type)) << e.name;
  }
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied embeddings

  const auto start = std::chrono::steady_clock::now();
  size_t total = 0;
  for (const GgufTensorInfo& t : f.tensors()) total += f.read_f32(t).size();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("dequantized %zu values of the real model in %.3f s\n", total, seconds);
  EXPECT_EQ(total, 134515008u);
  EXPECT_LT(seconds, 2.0);  // ~0.2 s on 2 cores; generous for a loaded CI machine
}

// Compares read_f32 bit for bit with gguf-py's dequantization, stored by
// tests/reference/make_gguf_dequant_reference.py (one tensor per GGUF tensor name; a tensor may
// hold only the first rows).
TEST(GgufRealModel, DequantizationMatchesGgufPyBitExactly) {
  const char* ref_path = std::getenv("CIPHERLORA_DEQUANT_REFERENCE");
  if (real_model_path() == nullptr || ref_path == nullptr) {
    GTEST_SKIP() << "CIPHERLORA_SMOLLM2_GGUF and CIPHERLORA_DEQUANT_REFERENCE not both set";
  }
  GgufFile f = GgufFile::open(real_model_path());
  SafetensorsFile ref = SafetensorsFile::open(ref_path);
  ASSERT_FALSE(ref.tensors().empty());
  std::map<uint32_t, int> checked_types;
  for (const SafetensorsTensorInfo& r : ref.tensors()) {
    const GgufTensorInfo* t = f.find_tensor(r.name);
    ASSERT_NE(t, nullptr) << r.name;
    const std::vector<float> want = ref.read_f32(r.name);
    const std::vector<float> got = f.read_f32(*t);
    ASSERT_LE(want.size(), got.size()) << r.name;
    ASSERT_EQ(r.shape.back(), t->dims[0]) << r.name;  // row length
    EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * 4), 0) << r.name;
    ++checked_types[t->type];
  }
  for (GgufType type : {GgufType::Q8_0, GgufType::Q4_1, GgufType::F32}) {
    EXPECT_GT(checked_types[static_cast<uint32_t>(type)], 0)
        << "reference holds no " << gguf_type_name(static_cast<uint32_t>(type)) << " tensor";
  }
  std::printf("checked %zu tensors bit-exactly against gguf-py\n", ref.tensors().size());
}

}  // namespace
}  // namespace cipherlora
