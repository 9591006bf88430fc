#include "formats/safetensors.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <filesystem>

#include "formats/test_util.h"

namespace cipherlora {
namespace {

using test::Bytes;
using test::expect_error;
using test::TempDir;

// A safetensors file from a header string and raw data, built from the format definition.
std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data) {
  Bytes b;
  b.u64(header.size());
  b.b.insert(b.b.end(), header.begin(), header.end());
  b.raw(data);
  return b.b;
}

void expect_rejected(const std::vector<uint8_t>& bytes, const std::vector<std::string>& parts) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  test::write_bytes(path, bytes);
  std::vector<std::string> all = parts;
  all.push_back("safetensors " + path);
  expect_error([&] { SafetensorsFile::open(path); }, all);
}

TEST(Safetensors, WriterProducesTheReferenceLayout) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  // Given out of order; the file holds them sorted by name.
  write_safetensors(path, {{"b", {2}, {3.5f, -1}}, {"a", {1, 1}, {2}}}, {{"format", "pt"}});
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  // What the Python library writes for the same input: __metadata__ first, then the tensors in
  // data order, compact JSON, header padded with spaces to a multiple of 8.
  std::string header =
      "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[1,1],"
      "\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  header.append((8 - header.size() % 8) % 8, ' ');
  Bytes data;
  data.put<float>(2).put<float>(3.5f).put<float>(-1);
  EXPECT_EQ(test::read_bytes(path), make_file(header, data.b));
}

TEST(Safetensors, RoundTrip) {
  TempDir dir;
  const std::string path = dir.file("r.safetensors");
  std::vector<float> big(3 * 5);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<float>(i) * 0.5f - 3;
  write_safetensors(
      path,
      {{"layer.w", {3, 5}, big}, {"empty", {0, 4}, {}}, {"scalar", {}, {42}}, {"v", {1}, {-0.0f}}},
      {{"k", "v"}, {"quote\"d", "line\nbreak"}});
  SafetensorsFile st = SafetensorsFile::open(path);
  EXPECT_EQ(st.path(), path);
  ASSERT_EQ(st.tensors().size(), 4u);
  EXPECT_EQ(st.metadata(),
            (std::map<std::string, std::string>{{"k", "v"}, {"quote\"d", "line\nbreak"}}));
  const SafetensorsTensorInfo* w = st.find("layer.w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, "F32");
  EXPECT_EQ(w->shape, (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(w->end - w->begin, 60u);
  EXPECT_EQ(st.read_f32("layer.w"), big);
  EXPECT_EQ(st.find("empty")->shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(st.read_f32("empty").empty());
  EXPECT_EQ(st.find("scalar")->shape, (std::vector<int64_t>{}));
  EXPECT_EQ(st.read_f32("scalar"), (std::vector<float>{42}));
  EXPECT_TRUE(std::signbit(st.read_f32("v")[0]));
  EXPECT_EQ(st.find("absent"), nullptr);
  expect_error([&] { st.read_f32("absent"); }, {path, "tensor absent missing"});

  // Overwriting an existing file replaces it.
  write_safetensors(path, {{"only", {2}, {1, 2}}});
  SafetensorsFile again = SafetensorsFile::open(path);
  EXPECT_EQ(again.tensors().size(), 1u);
  EXPECT_TRUE(again.metadata().empty());
  SafetensorsFile moved = std::move(again);
  EXPECT_EQ(moved.read_f32("only"), (std::vector<float>{1, 2}));
}

TEST(Safetensors, ReadsF16Bf16AndRefusesOtherDtypes) {
  const std::vector<uint16_t> halves = {0x3c00, 0xc000, 0x0001, 0x7bff, 0x2e66, 0x8000};
  const std::vector<uint16_t> bf = {0x3f80, 0xc049, 0x0001, 0x7f80};
  Bytes data;
  for (uint16_t h : halves) data.u16(h);  // bytes [0, 12)
  for (uint16_t h : bf) data.u16(h);      // [12, 20)
  data.put<int64_t>(-7).put<int64_t>(9);  // [20, 36)
  const std::string header =
      "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,12]},"
      "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[12,20]},"
      "\"i\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[20,36]}}";
  TempDir dir;
  const std::string path = dir.file("d.safetensors");
  test::write_bytes(path, make_file(header, data.b));  // header length not a multiple of 8
  SafetensorsFile st = SafetensorsFile::open(path);
  const std::vector<float> h = st.read_f32("h");
  ASSERT_EQ(h.size(), halves.size());
  for (size_t i = 0; i < h.size(); ++i) EXPECT_EQ(h[i], test::fp16_value(halves[i])) << i;
  const std::vector<float> b = st.read_f32("b");
  ASSERT_EQ(b.size(), bf.size());
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_EQ(std::bit_cast<uint32_t>(b[i]), static_cast<uint32_t>(bf[i]) << 16) << i;
  }
  // Tensors are listed in data order, not name order.
  EXPECT_EQ(st.tensors()[0].name, "h");
  EXPECT_EQ(st.tensors()[2].name, "i");
  int64_t second;
  std::memcpy(&second, st.raw_data(*st.find("i")) + 8, 8);
  EXPECT_EQ(second, 9);
  expect_error([&] { st.read_f32("i"); }, {path, "tensor i has dtype I64"});
}

TEST(Safetensors, RejectsEveryTruncation) {
  TempDir dir;
  const std::string path = dir.file("t.safetensors");
  write_safetensors(path, {{"a", {2, 2}, {1, 2, 3, 4}}, {"b", {3}, {5, 6, 7}}}, {{"x", "y"}});
  const std::vector<uint8_t> full = test::read_bytes(path);
  EXPECT_EQ(SafetensorsFile::open(path).read_f32("b")[2], 7.0f);
  for (size_t len = 0; len < full.size(); ++len) {
    test::write_bytes(path, std::vector<uint8_t>(full.begin(), full.begin() + len));
    SCOPED_TRACE("prefix length " + std::to_string(len));
    expect_error([&] { SafetensorsFile::open(path); }, {"safetensors " + path});
  }
}

TEST(Safetensors, RejectsBadHeaders) {
  const std::vector<uint8_t> eight(8, 0);
  auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
    return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":" + offsets + "}";
  };
  expect_rejected({1, 2, 3}, {"file too small"});
  expect_rejected(Bytes().u64(1000).u8('{').b, {"header length 1000 exceeds the file size"});
  expect_rejected(Bytes().u64(~uint64_t{0}).b, {"exceeds the file size"});
  expect_rejected(make_file("{\"a\":", eight), {"not valid JSON"});
  expect_rejected(make_file("\xff\xfe garbage", eight), {"not valid JSON"});
  expect_rejected(make_file("[1,2]", eight), {"not a JSON object"});
  expect_rejected(make_file("{" + entry("a", "F32", "[2]", "[0,8]") + "} junk", eight),
                  {"not valid JSON"});
  expect_rejected(make_file("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", eight),
                  {"tensor a: missing string dtype"});
  expect_rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", eight),
                  {"missing shape"});
  expect_rejected(make_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", eight), {"data_offsets"});
  expect_rejected(make_file("{\"a\":7}", eight), {"entry is not an object"});
  expect_rejected(make_file("{" + entry("a", "Q4", "[2]", "[0,8]") + "}", eight),
                  {"unknown dtype Q4"});
  expect_rejected(make_file("{" + entry("a", "F32", "[-2]", "[0,8]") + "}", eight),
                  {"shape entries must be non-negative integers"});
  expect_rejected(make_file("{" + entry("a", "F32", "[2.0]", "[0,8]") + "}", eight),
                  {"shape entries"});
  expect_rejected(make_file("{" + entry("a", "F32", "[2]", "[8,0]") + "}", eight),
                  {"data_offsets [8, 0]"});
  expect_rejected(make_file("{" + entry("a", "F32", "[2]", "[0,-8]") + "}", eight),
                  {"data_offsets must be two non-negative integers"});
  expect_rejected(make_file("{" + entry("a", "F32", "[2]", "[0]") + "}", eight), {"data_offsets"});
  expect_rejected(make_file("{" + entry("a", "F32", "[4]", "[0,16]") + "}", eight),
                  {"outside the data section of 8 bytes"});
  expect_rejected(make_file("{" + entry("a", "F32", "[3]", "[0,8]") + "}", eight),
                  {"tensor a: shape and dtype need 12 bytes but data_offsets span 8"});
  expect_rejected(make_file("{" + entry("a", "F16", "[2]", "[0,4]") + "}", eight),
                  {"tensors cover 4 bytes but the data section has 8"});  // trailing bytes
  expect_rejected(make_file("{" + entry("a", "F32", "[1]", "[4,8]") + "}", eight),
                  {"tensor a starts at 4, expected 0"});  // gap
  expect_rejected(make_file("{" + entry("a", "F32", "[2]", "[0,8]") + "," +
                                entry("b", "F32", "[1]", "[4,8]") + "}",
                            eight),
                  {"tensor b starts at 4, expected 8", "overlap"});
  expect_rejected(
      make_file("{" + entry("a", "F32", "[4294967296,4294967296,4294967296]", "[0,8]") + "}",
                eight),
      {"element count overflows"});
  expect_rejected(
      make_file("{\"__metadata__\":{\"k\":1}," + entry("a", "F32", "[2]", "[0,8]") + "}", eight),
      {"__metadata__ value for k is not a string"});
  expect_rejected(make_file("{\"__metadata__\":[]}", {}), {"__metadata__ is not an object"});
  expect_error([] { SafetensorsFile::open("/nonexistent/x.safetensors"); },
               {"/nonexistent/x.safetensors"});
}

TEST(Safetensors, WriterRejectsBadInput) {
  TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  expect_error(
      [&] {
        write_safetensors(path, {{"a", {2}, {1, 2}}, {"a", {1}, {3}}});
      },
      {"duplicate tensor name a"});
  expect_error(
      [&] {
        write_safetensors(path, {{"a", {2, 2}, {1, 2, 3}}});
      },
      {"tensor a has 3 values, shape needs 4"});
  expect_error([&] { write_safetensors(path, {{"a", {-1}, {}}}); }, {"negative dim"});
  expect_error([&] { write_safetensors(dir.file("no/such/dir/x.safetensors"), {}); },
               {"no/such/dir/x.safetensors.tmp"});
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

}  // namespace
}  // namespace cipherlora
