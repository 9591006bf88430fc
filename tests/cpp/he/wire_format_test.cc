#include "he/wire_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "he/bit_packing.h"

namespace cipherlora {
namespace {

uint64_t max_value(int bits) {
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

EncryptedRequest make_request(uint64_t seed, uint32_t columns, int log_n, int log_q) {
  std::mt19937_64 rng(seed);
  EncryptedRequest r;
  r.request_id = rng();
  r.linear_id = static_cast<uint32_t>(rng());
  r.direction = rng() % 2 ? Direction::kBackward : Direction::kForward;
  r.log_n = static_cast<uint8_t>(log_n);
  r.log_q = static_cast<uint8_t>(log_q);
  r.log_q_b_out = static_cast<uint8_t>(1 + rng() % log_q);
  r.columns = columns;
  r.body.resize(uint64_t{columns} << log_n);
  for (auto& v : r.body) v = rng() & max_value(log_q);
  return r;
}

EncryptedResponse make_response(uint64_t seed, uint32_t columns, int log_n, int log_q_b) {
  std::mt19937_64 rng(seed);
  EncryptedResponse r;
  r.request_id = rng();
  r.columns = columns;
  r.log_n = static_cast<uint8_t>(log_n);
  r.log_q_b = static_cast<uint8_t>(log_q_b);
  r.b.resize(uint64_t{columns} << log_n);
  for (auto& v : r.b) v = rng() & max_value(log_q_b);
  return r;
}

void put_le(std::vector<uint8_t>& bytes, size_t at, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) bytes[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// The Error message `parse` gives, or "" if it parsed.
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
  return error_of([](std::span<const uint8_t> b) { return parse_request(b); }, bytes);
}
std::string response_error(const std::vector<uint8_t>& bytes) {
  return error_of(parse_response, bytes);
}
std::string view_error(const std::vector<uint8_t>& bytes) {
  return error_of(view_response, bytes);
}

const uint64_t kRequestIds[] = {
    0, 1, 0xFFFFFFFF, uint64_t{1} << 32, 0x0123456789ABCDEF, uint64_t{1} << 63, ~uint64_t{0}};

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
    int log_n, log_q_b;
  } shapes[] = {{1, 10, 1}, {3, 10, 40}, {2, 11, 64}, {4, 13, 47}, {1, 15, 29}};
  for (const auto& s : shapes) {
    const EncryptedResponse r = make_response(s.log_q_b, s.columns, s.log_n, s.log_q_b);
    const std::vector<uint8_t> bytes = serialize(r);
    EXPECT_EQ(bytes.size(), response_size(s.columns, s.log_n, s.log_q_b));
    EXPECT_EQ(parse_response(bytes), r);
    const PackedResponse v = view_response(bytes);
    EXPECT_EQ(v.request_id, r.request_id);
    EXPECT_EQ(v.columns, r.columns);
    EXPECT_EQ(v.log_n, r.log_n);
    EXPECT_EQ(v.log_q_b, r.log_q_b);
    EXPECT_EQ(v.b.data(), bytes.data() + kResponseHeaderBytes);
    EXPECT_EQ(v.b.size(), bytes.size() - kResponseHeaderBytes);
  }
}

// request_id is opaque: every 64-bit value travels unchanged in both messages, at offset 16.
TEST(WireFormat, RequestIdRoundTrip) {
  for (uint64_t id : kRequestIds) {
    EncryptedRequest req = make_request(7, 1, 10, 5);
    req.request_id = id;
    const std::vector<uint8_t> qb = serialize(req);
    EXPECT_EQ(parse_request(qb).request_id, id);
    EXPECT_EQ(parse_request(qb), req);
    EncryptedResponse resp = make_response(8, 1, 10, 5);
    resp.request_id = id;
    const std::vector<uint8_t> sb = serialize(resp);
    EXPECT_EQ(parse_response(sb).request_id, id);
    EXPECT_EQ(parse_response(sb), resp);
    EXPECT_EQ(view_response(sb).request_id, id);
    for (int i = 0; i < 8; ++i) {
      EXPECT_EQ(qb[16 + i], static_cast<uint8_t>(id >> (8 * i))) << "request byte " << 16 + i;
      EXPECT_EQ(sb[16 + i], static_cast<uint8_t>(id >> (8 * i))) << "response byte " << 16 + i;
    }
  }
}

TEST(WireFormat, Sizes) {
  // 40 + 4096 · 2048 · 47 / 8 = 40 + 49283072.
  EXPECT_EQ(request_size(4096, 11, 47), 49283112u);
  EXPECT_EQ(response_size(1, 10, 1), 32u + 128);
  EXPECT_EQ(response_size(4096, 11, 29), 32u + 30408704);
  // 2^20 · 2^10 · 8 bytes = 8 GiB, plus the header: over the cap.
  EXPECT_THROW(request_size(1u << 20, 10, 64), Error);
  EXPECT_THROW(response_size(1u << 20, 10, 64), Error);
  EXPECT_EQ(request_size(1u << 20, 10, 63), 40 + (uint64_t{1} << 27) * 63);
  EXPECT_EQ(response_size(1u << 20, 10, 63), 32 + (uint64_t{1} << 27) * 63);
  EXPECT_THROW(request_size(0, 10, 8), Error);
  EXPECT_THROW(request_size((1u << 20) + 1, 10, 8), Error);
  EXPECT_THROW(request_size(1, 9, 8), Error);
  EXPECT_THROW(request_size(1, 16, 8), Error);
  EXPECT_THROW(request_size(1, 10, 0), Error);
  EXPECT_THROW(request_size(1, 10, 65), Error);
  EXPECT_THROW(response_size(0, 10, 8), Error);
  EXPECT_THROW(response_size(1, 9, 8), Error);
  EXPECT_THROW(response_size(1, 10, 0), Error);
  EXPECT_THROW(response_size(1, 10, 65), Error);
  EXPECT_THROW(response_size(1u << 20, 15, 64), Error);
}

TEST(WireFormat, RequestExactBytes) {
  EncryptedRequest r;
  r.request_id = 0x1122334455667788;
  r.linear_id = 0x01020304;
  r.direction = Direction::kBackward;
  r.log_n = 10;
  r.log_q = 1;
  r.log_q_b_out = 1;
  r.columns = 1;
  r.body.resize(1024);
  for (size_t i = 0; i < r.body.size(); ++i) r.body[i] = i % 3 == 0;
  std::vector<uint8_t> want = {
      'C',  'L',  'R',  'Q',  2,    0,    0,    0,     // magic, version 2, flags 0
      0xA8, 0,    0,    0,    0,    0,    0,    0,     // length 168 = 40 + 1024/8
      0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // request_id
      0x04, 0x03, 0x02, 0x01, 1,    0,    0,    0,     // linear_id, columns
      1,    10,   1,    1,    0,    0,    0,    0,     // direction, log_n, log_q, b_out, reserved
  };
  ASSERT_EQ(want.size(), 40u);
  // Every third bit set, LSB first: bits 0,3,6 -> 0x49; 9,12,15 -> 0x92; 18,21 -> 0x24; repeat.
  const uint8_t cycle[3] = {0x49, 0x92, 0x24};
  for (int i = 0; i < 128; ++i) want.push_back(cycle[i % 3]);
  EXPECT_EQ(serialize(r), want);
  EXPECT_EQ(parse_request(want), r);
  // The header alone, body left zero.
  std::vector<uint8_t> header_only = want;
  std::fill(header_only.begin() + 40, header_only.end(), 0);
  EXPECT_EQ(request_with_header(r), header_only);
}

TEST(WireFormat, ResponseExactBytes) {
  EncryptedResponse r;
  r.request_id = 0xFEDCBA9876543210;
  r.columns = 2;
  r.log_n = 10;
  r.log_q_b = 2;
  r.b.assign(1024, 1);  // column 0: 0b01 four times per byte, LSB first: 0b01010101
  r.b.resize(2048, 2);  // column 1: 0b10 four times per byte: 0b10101010
  const uint8_t header[32] = {
      'C',  'L',  'R',  'S',  2,    0,    0,    0,     // magic, version 2, flags 0
      0x20, 0x02, 0,    0,    0,    0,    0,    0,     // length 544 = 32 + 2 · 256
      0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE,  // request_id
      2,    0,    0,    0,    10,   2,    0,    0,     // columns, log_n, log_q_b, reserved
  };
  std::vector<uint8_t> want(544);
  std::copy(header, header + 32, want.begin());
  std::fill(want.begin() + 32, want.begin() + 32 + 256, 0x55);
  std::fill(want.begin() + 32 + 256, want.end(), 0xAA);
  EXPECT_EQ(serialize(r), want);
  EXPECT_EQ(parse_response(want), r);
  const PackedResponse v = view_response(want);
  EXPECT_EQ(v.request_id, 0xFEDCBA9876543210u);
  EXPECT_EQ(v.columns, 2u);
  EXPECT_EQ(v.log_n, 10);
  EXPECT_EQ(v.log_q_b, 2);
  EXPECT_EQ(v.b.data(), want.data() + 32);
  EXPECT_EQ(v.b.size(), 512u);
}

// A caller packing the body itself after request_with_header() gets serialize()'s bytes.
TEST(WireFormat, RequestWithHeader) {
  const EncryptedRequest r = make_request(9, 3, 10, 29);
  std::vector<uint8_t> bytes = request_with_header(r);
  ASSERT_EQ(bytes.size(), request_size(3, 10, 29));
  EXPECT_TRUE(std::all_of(bytes.begin() + kRequestHeaderBytes, bytes.end(),
                          [](uint8_t b) { return b == 0; }));
  EXPECT_FALSE(parse_request(bytes) == r);  // a valid message with a zero body
  const uint64_t col_bytes = 1024 * 29 / 8;
  for (int k = 0; k < 3; ++k)
    pack_bits(std::span(r.body).subspan(k * 1024, 1024), 29,
              std::span(bytes).subspan(kRequestHeaderBytes + k * col_bytes, col_bytes));
  EXPECT_EQ(bytes, serialize(r));
}

TEST(WireFormat, EveryPrefixAndExtensionRejected) {
  const std::vector<uint8_t> request = serialize(make_request(1, 2, 10, 5));
  const std::vector<uint8_t> response = serialize(make_response(2, 1, 10, 3));
  for (const auto* bytes : {&request, &response}) {
    const bool is_request = bytes == &request;
    auto parse_error = [&](const std::vector<uint8_t>& b) {
      return is_request ? request_error(b) : response_error(b);
    };
    for (size_t n = 0; n < bytes->size(); ++n) {
      const std::vector<uint8_t> prefix(bytes->begin(), bytes->begin() + n);
      EXPECT_NE(parse_error(prefix), "") << "prefix " << n;
      if (!is_request) {
        EXPECT_NE(view_error(prefix), "") << "prefix " << n;
      }
    }
    std::vector<uint8_t> longer = *bytes;
    longer.push_back(0);
    EXPECT_NE(parse_error(longer), "");
    if (!is_request) {
      EXPECT_NE(view_error(longer), "");
    }
    // Even with the length field updated, the shape still fixes the size.
    put_le(longer, 8, longer.size(), 8);
    EXPECT_NE(parse_error(longer), "");
    if (!is_request) {
      EXPECT_NE(view_error(longer), "");
    }
  }
  EXPECT_EQ(request_error(std::vector<uint8_t>(request.begin(), request.begin() + 39)),
            "request: 39 bytes, shorter than the 40-byte header");
  EXPECT_EQ(response_error(std::vector<uint8_t>(response.begin(), response.begin() + 31)),
            "response: 31 bytes, shorter than the 32-byte header");
  EXPECT_EQ(view_error({}), "response: 0 bytes, shorter than the 32-byte header");
  // Each message is rejected by the other's parser.
  EXPECT_NE(request_error(response), "");
  EXPECT_NE(response_error(request), "");
  EXPECT_NE(view_error(request), "");
}

TEST(WireFormat, RequestErrorsNameTheField) {
  const std::vector<uint8_t> good = serialize(make_request(3, 1, 10, 47));
  ASSERT_EQ(good.size(), 40u + 6016);
  ASSERT_EQ(good[34], 47);
  auto with = [&](size_t at, uint64_t v, int n) {
    std::vector<uint8_t> bytes = good;
    put_le(bytes, at, v, n);
    return request_error(bytes);
  };
  EXPECT_EQ(with(0, 'X', 1), "request: bad magic 58 4c 52 51, expected \"CLRQ\"");
  EXPECT_EQ(with(4, 1, 2), "request: version 1 is not supported (expected 2)");
  EXPECT_EQ(with(4, 3, 2), "request: version 3 is not supported (expected 2)");
  EXPECT_EQ(with(6, 1, 2), "request: flags 1 are not zero");
  EXPECT_EQ(with(8, 6055, 8), "request: header says 6055 bytes, message has 6056 (trailing bytes)");
  EXPECT_EQ(with(8, 6057, 8), "request: header says 6057 bytes, message has 6056 (truncated)");
  EXPECT_EQ(with(8, UINT64_MAX, 8),
            "request: length 18446744073709551615 exceeds the 8589934592-byte message cap");
  // request_id and linear_id take any value.
  EXPECT_EQ(with(16, UINT64_MAX, 8), "");
  EXPECT_EQ(with(16, uint64_t{1} << 32, 8), "");
  EXPECT_EQ(with(24, 0xFFFFFFFF, 4), "");
  EXPECT_EQ(with(28, 0, 4), "request: columns 0 is outside 1..1048576");
  EXPECT_EQ(with(28, (1u << 20) + 1, 4), "request: columns 1048577 is outside 1..1048576");
  EXPECT_EQ(with(28, 2, 4),
            "request: 2 columns of N = 1024 at 47 bits take 12072 bytes, message "
            "has 6056");
  EXPECT_EQ(with(32, 2, 1), "request: direction 2 is outside 0..1");
  EXPECT_EQ(with(33, 9, 1), "request: log_n 9 is outside 10..15");
  EXPECT_EQ(with(33, 16, 1), "request: log_n 16 is outside 10..15");
  EXPECT_EQ(with(34, 0, 1), "request: log_q 0 is outside 1..64");
  EXPECT_EQ(with(34, 65, 1), "request: log_q 65 is outside 1..64");
  EXPECT_EQ(with(35, 70, 1), "request: log_q_b_out 70 exceeds log_q 47");
  EXPECT_EQ(with(35, 48, 1), "request: log_q_b_out 48 exceeds log_q 47");
  EXPECT_EQ(with(35, 0, 1), "request: log_q_b_out 0 is outside 1..47");
  EXPECT_EQ(with(35, 47, 1), "");
  for (size_t at = 36; at < 40; ++at)
    for (uint64_t v : {0x01, 0x80, 0xFF})
      EXPECT_EQ(with(at, v, 1), "request: reserved header bytes are not zero") << "byte " << at;
  // A forged shape far larger than the message: refused from the header alone.
  std::vector<uint8_t> forged = good;
  put_le(forged, 28, 1u << 20, 4);
  forged[33] = 15;
  forged[34] = forged[35] = 64;
  EXPECT_EQ(request_error(forged),
            "request: body of 34359738368 values at 64 bits needs 274877906944 bytes, over the "
            "8589934592-byte message cap");
  forged[33] = 10;  // the body alone is exactly the cap, the header tips it over
  EXPECT_EQ(request_error(forged),
            "request: message would take 8589934632 bytes, over the 8589934592-byte message cap");
  forged[34] = forged[35] = 60;
  EXPECT_EQ(request_error(forged),
            "request: 1048576 columns of N = 1024 at 60 bits take 8053063720 bytes, message has "
            "6056");
}

TEST(WireFormat, ResponseErrorsNameTheField) {
  const std::vector<uint8_t> good = serialize(make_response(4, 1, 10, 20));
  ASSERT_EQ(good.size(), 32u + 2560);
  auto with = [&](size_t at, uint64_t v, int n) {
    std::vector<uint8_t> bytes = good;
    put_le(bytes, at, v, n);
    const std::string parsed = response_error(bytes), viewed = view_error(bytes);
    EXPECT_EQ(parsed, viewed) << "offset " << at;  // view_response checks the same
    return parsed;
  };
  EXPECT_EQ(with(3, 'Q', 1), "response: bad magic 43 4c 52 51, expected \"CLRS\"");
  EXPECT_EQ(with(4, 1, 2), "response: version 1 is not supported (expected 2)");
  EXPECT_EQ(with(6, 0x8000, 2), "response: flags 32768 are not zero");
  EXPECT_EQ(with(8, 2591, 8),
            "response: header says 2591 bytes, message has 2592 (trailing bytes)");
  EXPECT_EQ(with(8, 2593, 8), "response: header says 2593 bytes, message has 2592 (truncated)");
  EXPECT_EQ(with(8, kMaxMessageBytes + 1, 8),
            "response: length 8589934593 exceeds the 8589934592-byte message cap");
  EXPECT_EQ(with(16, UINT64_MAX, 8), "");
  EXPECT_EQ(with(16, (uint64_t{1} << 32) + 5, 8), "");
  EXPECT_EQ(with(24, 0, 4), "response: columns 0 is outside 1..1048576");
  EXPECT_EQ(with(24, 0xFFFFFFFF, 4), "response: columns 4294967295 is outside 1..1048576");
  EXPECT_EQ(with(24, 2, 4),
            "response: 2 columns of N = 1024 at 20 bits take 5152 bytes, message has 2592");
  EXPECT_EQ(with(28, 9, 1), "response: log_n 9 is outside 10..15");
  EXPECT_EQ(with(28, 255, 1), "response: log_n 255 is outside 10..15");
  EXPECT_EQ(with(29, 0, 1), "response: log_q_b 0 is outside 1..64");
  EXPECT_EQ(with(29, 65, 1), "response: log_q_b 65 is outside 1..64");
  EXPECT_EQ(with(29, 21, 1),
            "response: 1 columns of N = 1024 at 21 bits take 2720 bytes, message has 2592");
  for (size_t at = 30; at < 32; ++at)
    for (uint64_t v : {0x01, 0x80, 0xFF})
      EXPECT_EQ(with(at, v, 1), "response: reserved header bytes are not zero") << "byte " << at;
  // A forged shape far larger than the message: refused from the header alone.
  std::vector<uint8_t> forged = good;
  put_le(forged, 24, 1u << 20, 4);
  forged[28] = 15;
  forged[29] = 64;
  EXPECT_EQ(response_error(forged),
            "response: b of 34359738368 values at 64 bits needs 274877906944 bytes, over the "
            "8589934592-byte message cap");
  forged[28] = 10;
  EXPECT_EQ(response_error(forged),
            "response: message would take 8589934624 bytes, over the 8589934592-byte message cap");
}

TEST(WireFormat, SerializeRejectsInvalid) {
  const EncryptedRequest good = make_request(5, 2, 10, 20);
  auto fails = [](const auto& r) {
    try {
      serialize(r);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EncryptedRequest r = good;
  r.body.pop_back();
  EXPECT_EQ(fails(r), "request: body holds 2047 values, columns·N = 2048");
  r = good;
  r.body[1500] = uint64_t{1} << 20;
  EXPECT_EQ(fails(r), "request: body value 1048576 at index 1500 does not fit in 20 bits");
  r = good;
  r.log_q_b_out = 21;
  EXPECT_EQ(fails(r), "request: log_q_b_out 21 exceeds log_q 20");
  r = good;
  r.log_q_b_out = 0;
  EXPECT_EQ(fails(r), "request: log_q_b_out 0 is outside 1..20");
  r = good;
  r.log_n = 9;
  EXPECT_EQ(fails(r), "request: log_n 9 is outside 10..15");
  r = good;
  r.columns = 0;
  EXPECT_EQ(fails(r), "request: columns 0 is outside 1..1048576");
  r = good;
  r.direction = static_cast<Direction>(5);
  EXPECT_EQ(fails(r), "request: direction 5 is outside 0..1");
  r = good;
  r.log_q = 0;
  EXPECT_EQ(fails(r), "request: log_q 0 is outside 1..64");
  EXPECT_THROW(request_with_header(r), Error);

  const EncryptedResponse good_resp = make_response(6, 1, 10, 8);
  EncryptedResponse s = good_resp;
  s.b[1023] = 256;
  EXPECT_EQ(fails(s), "response: b value 256 at index 1023 does not fit in 8 bits");
  s = good_resp;
  s.b.push_back(0);
  EXPECT_EQ(fails(s), "response: b holds 1025 values, columns·N = 1024");
  s = good_resp;
  s.log_q_b = 65;
  EXPECT_EQ(fails(s), "response: log_q_b 65 is outside 1..64");
  s = good_resp;
  s.log_q_b = 0;
  EXPECT_EQ(fails(s), "response: log_q_b 0 is outside 1..64");
  s = good_resp;
  s.columns = 0;
  EXPECT_EQ(fails(s), "response: columns 0 is outside 1..1048576");
  s = good_resp;
  s.log_n = 16;
  EXPECT_EQ(fails(s), "response: log_n 16 is outside 10..15");
}

// Mutates valid messages at random; each parse must either throw Error or give a message that
// re-serializes to exactly the mutated bytes, and view_response must accept exactly what
// parse_response accepts, with the same fields. Anything else (another exception, a crash, a huge
// allocation, a different encoding) fails.
TEST(WireFormat, MutationFuzz) {
  std::vector<std::vector<uint8_t>> seeds;
  seeds.push_back(serialize(make_request(10, 1, 10, 1)));
  seeds.push_back(serialize(make_request(11, 1, 10, 7)));
  seeds.push_back(serialize(make_request(12, 2, 10, 3)));
  seeds.push_back(serialize(make_request(13, 1, 10, 64)));
  seeds.push_back(serialize(make_response(14, 1, 10, 1)));
  seeds.push_back(serialize(make_response(15, 1, 10, 5)));
  seeds.push_back(serialize(make_response(16, 2, 10, 2)));
  seeds.push_back(serialize(make_response(17, 1, 10, 64)));
  // Header fields of either message (offset, bytes) and values at and around their limits.
  const struct {
    size_t at;
    int n;
  } fields[] = {{4, 2},  {6, 2},  {8, 8},  {16, 8}, {16, 4}, {20, 4}, {24, 4},
                {24, 1}, {28, 4}, {28, 1}, {29, 1}, {30, 1}, {30, 2}, {31, 1},
                {32, 1}, {33, 1}, {34, 1}, {35, 1}, {36, 1}, {36, 4}, {39, 1}};
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
                               uint64_t{1} << 32,
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
        return rng() % 2 ? rng() % std::min<size_t>(limit, kRequestHeaderBytes) : rng() % limit;
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
    // view_response: the same verdict as parse_response, and a view of exactly the b section.
    std::string view_err, parse_err;
    PackedResponse v;
    try {
      v = view_response(bytes);
    } catch (const Error& e) {
      view_err = e.what();
    } catch (const std::exception& e) {
      FAIL() << "iteration " << it << ": unexpected exception " << e.what();
    }
    parse_err = response_error(bytes);
    ASSERT_EQ(view_err, parse_err) << "iteration " << it;
    if (view_err.empty()) {
      ++accepted;
      const EncryptedResponse r = parse_response(bytes);
      ASSERT_EQ(v.request_id, r.request_id) << "iteration " << it;
      ASSERT_EQ(v.columns, r.columns) << "iteration " << it;
      ASSERT_EQ(v.log_n, r.log_n) << "iteration " << it;
      ASSERT_EQ(v.log_q_b, r.log_q_b) << "iteration " << it;
      ASSERT_EQ(v.b.data(), bytes.data() + kResponseHeaderBytes) << "iteration " << it;
      ASSERT_EQ(v.b.size(), bytes.size() - kResponseHeaderBytes) << "iteration " << it;
    } else {
      ++rejected;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("mutation fuzz: %d messages, %d parses accepted, %d rejected, %.2f s\n", kIterations,
              accepted, rejected, secs);
  EXPECT_GT(accepted, 1000);  // body mutations give valid messages; the check must see them
  EXPECT_GT(rejected, kIterations);
}

// The buffer-reusing forms give exactly the bytes and values of the allocating ones, whatever
// the buffer held before (a larger message, stray bytes).
TEST(WireFormat, ReusedBuffersGiveTheSameMessages) {
  const EncryptedRequest big = make_request(21, 3, 11, 47), small = make_request(22, 1, 10, 13);
  EncryptedRequest into;
  parse_request(serialize(big), into);
  EXPECT_EQ(into, big);
  parse_request(serialize(small), into);
  EXPECT_EQ(into, small);

  const EncryptedResponse rbig = make_response(23, 4, 11, 40), rsmall = make_response(24, 1, 10, 3);
  std::vector<uint8_t> out(5 * 1024 * 1024, 0xAB);
  serialize(rbig, out);
  EXPECT_EQ(out, serialize(rbig));
  serialize(rsmall, out);
  EXPECT_EQ(out, serialize(rsmall));

  std::vector<uint8_t> header(100, 0xCD);
  request_with_header(small, header);
  const std::vector<uint8_t> fresh = request_with_header(small);
  ASSERT_EQ(header.size(), fresh.size());
  EXPECT_TRUE(std::equal(fresh.begin(), fresh.begin() + kRequestHeaderBytes, header.begin()));
}

}  // namespace
}  // namespace cipherlora
