#include "he/wire_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "common/error.h"

namespace cipherlora {
namespace {

uint64_t max_value(int bits) {
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

EncryptedRequest make_request(uint64_t seed, uint32_t columns, int log_n, int log_q) {
  std::mt19937_64 rng(seed);
  EncryptedRequest r;
  r.linear_id = static_cast<uint32_t>(rng());
  r.direction = rng() % 2 ? Direction::kBackward : Direction::kForward;
  r.log_n = static_cast<uint8_t>(log_n);
  r.log_q = static_cast<uint8_t>(log_q);
  r.log_q_b_out = static_cast<uint8_t>(1 + rng() % log_q);
  r.log_q_a_out = static_cast<uint8_t>(1 + rng() % log_q);
  for (auto& b : r.mask_seed.bytes) b = static_cast<uint8_t>(rng());
  r.columns = columns;
  r.body.resize(uint64_t{columns} << log_n);
  for (auto& v : r.body) v = rng() & max_value(log_q);
  return r;
}

EncryptedResponse make_response(uint64_t seed, uint32_t columns, int log_n, int log_q_b,
                                int log_q_a) {
  std::mt19937_64 rng(seed);
  EncryptedResponse r;
  r.columns = columns;
  r.log_n = static_cast<uint8_t>(log_n);
  r.log_q_b = static_cast<uint8_t>(log_q_b);
  r.log_q_a = static_cast<uint8_t>(log_q_a);
  r.b.resize(uint64_t{columns} << log_n);
  r.a.resize(r.b.size());
  for (auto& v : r.b) v = rng() & max_value(log_q_b);
  for (auto& v : r.a) v = rng() & max_value(log_q_a);
  return r;
}

void put_le(std::vector<uint8_t>& bytes, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) bytes[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// The Error message parse_request gives, or "" if it parsed.
template <typename Parse>
std::string error_of(Parse parse, const std::vector<uint8_t>& bytes) {
  try {
    parse(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string request_error(const std::vector<uint8_t>& bytes) {
  return error_of(parse_request, bytes);
}
std::string response_error(const std::vector<uint8_t>& bytes) {
  return error_of(parse_response, bytes);
}

TEST(WireFormat, RequestRoundTrip) {
  const struct {
    uint32_t columns;
    int log_n, log_q;
  } shapes[] = {{1, 10, 1}, {3, 10, 29}, {2, 11, 38}, {5, 10, 47}, {1, 15, 64}, {7, 12, 13}};
  for (const auto& s : shapes) {
    const EncryptedRequest r = make_request(s.columns * 100 + s.log_q, s.columns, s.log_n, s.log_q);
    const std::vector<uint8_t> bytes = serialize(r);
    EXPECT_EQ(bytes.size(), request_size(s.columns, s.log_n, s.log_q));
    EXPECT_EQ(parse_request(bytes), r) << "log_q " << s.log_q;
  }
}

TEST(WireFormat, ResponseRoundTrip) {
  const struct {
    uint32_t columns;
    int log_n, log_q_b, log_q_a;
  } shapes[] = {{1, 10, 1, 1}, {3, 10, 40, 30}, {2, 11, 64, 1}, {4, 13, 47, 64}};
  for (const auto& s : shapes) {
    const EncryptedResponse r = make_response(s.log_q_b, s.columns, s.log_n, s.log_q_b, s.log_q_a);
    const std::vector<uint8_t> bytes = serialize(r);
    EXPECT_EQ(bytes.size(), response_size(s.columns, s.log_n, s.log_q_b, s.log_q_a));
    EXPECT_EQ(parse_response(bytes), r);
  }
}

TEST(WireFormat, Sizes) {
  // 64 + 4096 · 2048 · 47 / 8 = 64 + 49283072.
  EXPECT_EQ(request_size(4096, 11, 47), 49283136u);
  EXPECT_EQ(response_size(1, 10, 1, 2), 24u + 128 + 256);
  // 2^20 · 2^10 · 8 bytes = 8 GiB, plus the header: over the cap.
  EXPECT_THROW(request_size(1u << 20, 10, 64), Error);
  EXPECT_EQ(request_size(1u << 20, 10, 63), 64 + (uint64_t{1} << 27) * 63);
  EXPECT_THROW(request_size(0, 10, 8), Error);
  EXPECT_THROW(request_size((1u << 20) + 1, 10, 8), Error);
  EXPECT_THROW(request_size(1, 9, 8), Error);
  EXPECT_THROW(request_size(1, 16, 8), Error);
  EXPECT_THROW(request_size(1, 10, 0), Error);
  EXPECT_THROW(request_size(1, 10, 65), Error);
  EXPECT_THROW(response_size(1, 10, 65, 1), Error);
  EXPECT_THROW(response_size(1u << 20, 15, 64, 64), Error);
}

TEST(WireFormat, RequestExactBytes) {
  EncryptedRequest r;
  r.linear_id = 0x01020304;
  r.direction = Direction::kBackward;
  r.log_n = 10;
  r.log_q = 1;
  r.log_q_b_out = 1;
  r.log_q_a_out = 1;
  for (int i = 0; i < 32; ++i) r.mask_seed.bytes[i] = static_cast<uint8_t>(i);
  r.columns = 1;
  r.body.resize(1024);
  for (size_t i = 0; i < r.body.size(); ++i) r.body[i] = i % 3 == 0;
  std::vector<uint8_t> want = {
      'C',  'L',  'R',  'Q',  1, 0, 0, 0,  // magic, version 1, flags 0
      192,  0,    0,    0,    0, 0, 0, 0,  // length 64 + 1024/8
      0x04, 0x03, 0x02, 0x01, 1, 0, 0, 0,  // linear_id, columns
      1,    10,   1,    1,    1, 0, 0, 0,  // direction, log_n, log_q, b_out, a_out, reserved
  };
  for (int i = 0; i < 32; ++i) want.push_back(static_cast<uint8_t>(i));
  // Every third bit set, LSB first: bits 0,3,6 -> 0x49; 9,12,15 -> 0x92; 18,21 -> 0x24; repeat.
  const uint8_t cycle[3] = {0x49, 0x92, 0x24};
  for (int i = 0; i < 128; ++i) want.push_back(cycle[i % 3]);
  EXPECT_EQ(serialize(r), want);
  EXPECT_EQ(parse_request(want), r);
}

TEST(WireFormat, ResponseExactBytes) {
  EncryptedResponse r;
  r.columns = 1;
  r.log_n = 10;
  r.log_q_b = 1;
  r.log_q_a = 2;
  r.b.assign(1024, 1);
  r.a.assign(1024, 2);  // 0b10 four times per byte, LSB first: 0b10101010
  const uint8_t header[24] = {
      'C',  'L',  'R', 'S', 1,  0, 0, 0,  // magic, version 1, flags 0
      0x98, 0x01, 0,   0,   0,  0, 0, 0,  // length 408 = 24 + 128 + 256
      1,    0,    0,   0,   10, 1, 2, 0,  // columns, log_n, log_q_b, log_q_a, reserved
  };
  std::vector<uint8_t> want(408);
  std::copy(header, header + 24, want.begin());
  std::fill(want.begin() + 24, want.begin() + 24 + 128, 0xFF);
  std::fill(want.begin() + 24 + 128, want.end(), 0xAA);
  EXPECT_EQ(serialize(r), want);
  EXPECT_EQ(parse_response(want), r);
}

TEST(WireFormat, EveryPrefixAndExtensionRejected) {
  const std::vector<uint8_t> request = serialize(make_request(1, 2, 10, 5));
  const std::vector<uint8_t> response = serialize(make_response(2, 1, 10, 3, 4));
  for (const auto* bytes : {&request, &response}) {
    const bool is_request = bytes == &request;
    for (size_t n = 0; n < bytes->size(); ++n) {
      const std::vector<uint8_t> prefix(bytes->begin(), bytes->begin() + n);
      EXPECT_THROW(is_request ? (void)parse_request(prefix) : (void)parse_response(prefix), Error)
          << "prefix " << n;
    }
    std::vector<uint8_t> longer = *bytes;
    longer.push_back(0);
    EXPECT_THROW(is_request ? (void)parse_request(longer) : (void)parse_response(longer), Error);
    // Even with the length field updated, the shape still fixes the size.
    put_le(longer, 8, longer.size(), 8);
    EXPECT_THROW(is_request ? (void)parse_request(longer) : (void)parse_response(longer), Error);
  }
  // Each message is rejected by the other's parser.
  EXPECT_NE(request_error(response), "");
  EXPECT_NE(response_error(request), "");
}

TEST(WireFormat, ErrorsNameTheField) {
  const std::vector<uint8_t> good = serialize(make_request(3, 1, 10, 47));
  auto with = [&](size_t at, uint64_t v, int n) {
    std::vector<uint8_t> bytes = good;
    put_le(bytes, at, v, n);
    return request_error(bytes);
  };
  auto has = [](const std::string& msg, const std::string& part) {
    return msg.find(part) != std::string::npos;
  };
  EXPECT_EQ(with(27, 70, 1), "request: log_q_b_out 70 exceeds log_q 47");
  EXPECT_EQ(with(28, 48, 1), "request: log_q_a_out 48 exceeds log_q 47");
  EXPECT_EQ(with(27, 0, 1), "request: log_q_b_out 0 is outside 1..47");
  EXPECT_TRUE(has(with(0, 'X', 1), "bad magic")) << with(0, 'X', 1);
  EXPECT_TRUE(has(with(4, 2, 2), "version 2")) << with(4, 2, 2);
  EXPECT_TRUE(has(with(6, 1, 2), "flags")) << with(6, 1, 2);
  EXPECT_TRUE(has(with(8, good.size() - 1, 8), "trailing")) << with(8, good.size() - 1, 8);
  EXPECT_TRUE(has(with(8, good.size() + 1, 8), "truncated")) << with(8, good.size() + 1, 8);
  EXPECT_TRUE(has(with(8, UINT64_MAX, 8), "cap")) << with(8, UINT64_MAX, 8);
  EXPECT_TRUE(has(with(20, 0, 4), "columns 0")) << with(20, 0, 4);
  EXPECT_TRUE(has(with(20, (1u << 20) + 1, 4), "columns 1048577")) << with(20, 0, 4);
  EXPECT_TRUE(has(with(24, 2, 1), "direction 2")) << with(24, 2, 1);
  EXPECT_TRUE(has(with(25, 9, 1), "log_n 9")) << with(25, 9, 1);
  EXPECT_TRUE(has(with(25, 16, 1), "log_n 16")) << with(25, 16, 1);
  EXPECT_TRUE(has(with(26, 65, 1), "log_q 65")) << with(26, 65, 1);
  EXPECT_TRUE(has(with(29, 1, 1), "reserved")) << with(29, 1, 1);
  EXPECT_TRUE(has(with(31, 0x80, 1), "reserved")) << with(31, 0x80, 1);
  // A forged shape far larger than the message: refused from the header alone.
  std::vector<uint8_t> forged = good;
  put_le(forged, 20, 1u << 20, 4);
  forged[25] = 15;
  forged[26] = 64;
  forged[27] = forged[28] = 64;
  EXPECT_TRUE(has(request_error(forged), "cap")) << request_error(forged);
  forged[25] = 10;
  forged[26] = 60;
  forged[27] = forged[28] = 60;
  EXPECT_TRUE(has(request_error(forged), "message has")) << request_error(forged);

  const std::vector<uint8_t> resp = serialize(make_response(4, 1, 10, 20, 30));
  auto rwith = [&](size_t at, uint64_t v, int n) {
    std::vector<uint8_t> bytes = resp;
    put_le(bytes, at, v, n);
    return response_error(bytes);
  };
  EXPECT_TRUE(has(rwith(21, 0, 1), "log_q_b 0")) << rwith(21, 0, 1);
  EXPECT_TRUE(has(rwith(22, 65, 1), "log_q_a 65")) << rwith(22, 65, 1);
  EXPECT_TRUE(has(rwith(23, 1, 1), "reserved")) << rwith(23, 1, 1);
  EXPECT_TRUE(has(rwith(16, 2, 4), "message has")) << rwith(16, 2, 4);
}

TEST(WireFormat, SerializeRejectsInvalid) {
  const EncryptedRequest good = make_request(5, 2, 10, 20);
  auto fails = [](EncryptedRequest r) {
    try {
      serialize(r);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EncryptedRequest r = good;
  r.body.pop_back();
  EXPECT_NE(fails(r), "");
  r = good;
  r.body[1500] = uint64_t{1} << 20;
  EXPECT_EQ(fails(r), "request: body value 1048576 at index 1500 does not fit in 20 bits");
  r = good;
  r.log_q_b_out = 21;
  EXPECT_EQ(fails(r), "request: log_q_b_out 21 exceeds log_q 20");
  r = good;
  r.log_q_a_out = 0;
  EXPECT_NE(fails(r), "");
  r = good;
  r.log_n = 9;
  EXPECT_NE(fails(r), "");
  r = good;
  r.columns = 0;
  EXPECT_NE(fails(r), "");
  r = good;
  r.direction = static_cast<Direction>(5);
  EXPECT_NE(fails(r), "");
  r = good;
  r.log_q = 0;
  EXPECT_NE(fails(r), "");

  const EncryptedResponse good_resp = make_response(6, 1, 10, 8, 9);
  EncryptedResponse s = good_resp;
  s.a[3] = 512;
  EXPECT_THROW(serialize(s), Error);
  s = good_resp;
  s.b[1023] = 256;
  EXPECT_THROW(serialize(s), Error);
  s = good_resp;
  s.b.push_back(0);
  EXPECT_THROW(serialize(s), Error);
  s = good_resp;
  s.log_q_a = 65;
  EXPECT_THROW(serialize(s), Error);
}

// Mutates valid messages at random; each parse must either throw Error or give a message that
// re-serializes to exactly the mutated bytes. Anything else (another exception, a crash, a huge
// allocation, a different encoding) fails.
TEST(WireFormat, MutationFuzz) {
  std::vector<std::vector<uint8_t>> seeds;
  seeds.push_back(serialize(make_request(10, 1, 10, 1)));
  seeds.push_back(serialize(make_request(11, 1, 10, 7)));
  seeds.push_back(serialize(make_request(12, 2, 10, 3)));
  seeds.push_back(serialize(make_request(13, 1, 10, 64)));
  seeds.push_back(serialize(make_response(14, 1, 10, 1, 2)));
  seeds.push_back(serialize(make_response(15, 1, 10, 5, 3)));
  seeds.push_back(serialize(make_response(16, 2, 10, 2, 1)));
  // Header fields (offset, bytes) and values at and around their limits.
  const struct {
    size_t at;
    int n;
  } fields[] = {{4, 2},  {6, 2},  {8, 8},  {16, 4}, {20, 4}, {20, 1}, {21, 1}, {22, 1},
                {23, 1}, {24, 1}, {25, 1}, {26, 1}, {27, 1}, {28, 1}, {29, 1}, {31, 1}};
  const uint64_t extremes[] = {0,
                               1,
                               2,
                               7,
                               8,
                               9,
                               10,
                               15,
                               16,
                               63,
                               64,
                               65,
                               255,
                               256,
                               1u << 20,
                               (1u << 20) + 1,
                               0xFFFF,
                               0xFFFFFFFF,
                               kMaxMessageBytes,
                               kMaxMessageBytes + 1,
                               UINT64_MAX};

  std::mt19937_64 rng(20240601);
  const int kIterations = 100000;
  int accepted = 0, rejected = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int it = 0; it < kIterations; ++it) {
    std::vector<uint8_t> bytes = seeds[rng() % seeds.size()];
    const int mutations = 1 + rng() % 3;
    for (int m = 0; m < mutations; ++m) {
      // Half of the positions fall in the header, where the checks are.
      auto pos = [&](size_t limit) {
        if (limit == 0) return size_t{0};
        return rng() % 2 ? rng() % std::min<size_t>(limit, 64) : rng() % limit;
      };
      switch (rng() % 8) {
        case 0:  // flip a bit
          if (!bytes.empty()) bytes[pos(bytes.size())] ^= static_cast<uint8_t>(1u << rng() % 8);
          break;
        case 1:  // overwrite a byte
          if (!bytes.empty()) bytes[pos(bytes.size())] = static_cast<uint8_t>(rng());
          break;
        case 2:  // truncate
          bytes.resize(rng() % (bytes.size() + 1));
          break;
        case 3: {  // insert 1..8 random bytes
          const size_t at = pos(bytes.size() + 1);
          const int k = 1 + rng() % 8;
          for (int i = 0; i < k; ++i) bytes.insert(bytes.begin() + at, static_cast<uint8_t>(rng()));
          break;
        }
        case 4: {  // delete 1..8 bytes
          if (bytes.empty()) break;
          const size_t at = pos(bytes.size());
          bytes.erase(bytes.begin() + at,
                      bytes.begin() + std::min<size_t>(bytes.size(), at + 1 + rng() % 8));
          break;
        }
        case 5:
        case 6: {  // a header field at an extreme value
          const auto& f = fields[rng() % std::size(fields)];
          if (bytes.size() >= f.at + f.n)
            put_le(bytes, f.at, extremes[rng() % std::size(extremes)], f.n);
          break;
        }
        case 7:  // make the length field agree, to reach the checks behind it
          if (bytes.size() >= 16) put_le(bytes, 8, bytes.size(), 8);
          break;
      }
    }
    for (int type = 0; type < 2; ++type) {
      try {
        const std::vector<uint8_t> again =
            type == 0 ? serialize(parse_request(bytes)) : serialize(parse_response(bytes));
        ASSERT_EQ(again, bytes) << "iteration " << it << ": accepted a non-canonical message";
        ++accepted;
      } catch (const Error&) {
        ++rejected;
      } catch (const std::exception& e) {
        FAIL() << "iteration " << it << ": unexpected exception " << e.what();
      }
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("mutation fuzz: %d messages, %d parses accepted, %d rejected, %.2f s\n", kIterations,
              accepted, rejected, secs);
  EXPECT_GT(accepted, 1000);  // body mutations give valid messages; the check must see them
  EXPECT_GT(rejected, kIterations);
}

}  // namespace
}  // namespace cipherlora
