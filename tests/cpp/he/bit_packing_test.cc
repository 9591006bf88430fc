#include "he/bit_packing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "common/error.h"

namespace cipherlora {
namespace {

uint64_t max_value(int bits) {
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

// The layout written out bit by bit, independent of the word-at-a-time code under test: bit b of
// value i is stream bit i·bits + b, which is bit (stream bit mod 8) of byte (stream bit / 8).
std::vector<uint8_t> reference_pack(const std::vector<uint64_t>& values, int bits) {
  std::vector<uint8_t> out((values.size() * bits + 7) / 8, 0);
  for (size_t i = 0; i < values.size(); ++i)
    for (int b = 0; b < bits; ++b)
      if ((values[i] >> b) & 1) {
        const uint64_t bit = i * bits + b;
        out[bit / 8] |= static_cast<uint8_t>(1u << (bit % 8));
      }
  return out;
}

std::vector<uint8_t> pack(const std::vector<uint64_t>& values, int bits,
                          PackKernel kernel = PackKernel::kBest) {
  std::vector<uint8_t> out(packed_size(values.size(), bits));
  pack_bits(values, bits, out, kernel);
  return out;
}

std::vector<uint64_t> unpack(const std::vector<uint8_t>& in, size_t count, int bits,
                             PackKernel kernel = PackKernel::kBest) {
  std::vector<uint64_t> values(count);
  unpack_bits(in, bits, values, kernel);
  return values;
}

// Both kernels (the vector one where this CPU has it) against the bit-by-bit reference.
void expect_round_trip(const std::vector<uint64_t>& values, int bits) {
  SCOPED_TRACE("bits " + std::to_string(bits) + ", count " + std::to_string(values.size()));
  const std::vector<uint8_t> want = reference_pack(values, bits);
  for (PackKernel kernel : {PackKernel::kBest, PackKernel::kPortable}) {
    const std::vector<uint8_t> packed = pack(values, bits, kernel);
    ASSERT_EQ(packed, want);
    EXPECT_EQ(unpack(packed, values.size(), bits, kernel), values);
  }
}

TEST(BitPacking, HandComputedBytes) {
  // 3 bits: 1 | 2<<3 | 3<<6 | 4<<9 | 5<<12 = 0x58D1, 15 bits; bit 15 is padding.
  EXPECT_EQ(pack({1, 2, 3, 4, 5}, 3), (std::vector<uint8_t>{0xD1, 0x58}));
  // 12 bits: 0xABC | 0x123<<12 = 0x123ABC.
  EXPECT_EQ(pack({0xABC, 0x123}, 12), (std::vector<uint8_t>{0xBC, 0x3A, 0x12}));
  // 1 bit: values 1,0,1,1,0,0,0,0 -> 0b00001101; the ninth value 1 -> 0x01 (7 pad bits).
  EXPECT_EQ(pack({1, 0, 1, 1, 0, 0, 0, 0, 1}, 1), (std::vector<uint8_t>{0x0D, 0x01}));
  // 64 bits: plain little-endian words.
  EXPECT_EQ(pack({0x0102030405060708, 0xF0}, 64),
            (std::vector<uint8_t>{8, 7, 6, 5, 4, 3, 2, 1, 0xF0, 0, 0, 0, 0, 0, 0, 0}));
  // 7 bits, eight values of 0x7F: 56 one bits, exactly 7 bytes.
  EXPECT_EQ(pack(std::vector<uint64_t>(8, 0x7F), 7), std::vector<uint8_t>(7, 0xFF));
  // 33 bits: 1 in bits 0..32, then 2^33 - 1 in bits 33..65 -> byte 4 = 0xFE (bit 32 clear),
  // bytes 5..7 = 0xFF, byte 8 = bits 64, 65 = 0x03.
  EXPECT_EQ(pack({1, (uint64_t{1} << 33) - 1}, 33),
            (std::vector<uint8_t>{0x01, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0x03}));
  // 47 bits, 8 values of 2^47 - 1 then one 0: 47 bytes of 0xFF then 6 zero bytes.
  std::vector<uint64_t> v(9, (uint64_t{1} << 47) - 1);
  v[8] = 0;
  std::vector<uint8_t> want(47 + 6, 0);
  std::fill_n(want.begin(), 47, 0xFF);
  EXPECT_EQ(pack(v, 47), want);
  EXPECT_EQ(unpack(want, 9, 47), v);
}

TEST(BitPacking, PackedSize) {
  EXPECT_EQ(packed_size(0, 5), 0u);
  EXPECT_EQ(packed_size(1, 1), 1u);
  EXPECT_EQ(packed_size(5, 3), 2u);
  EXPECT_EQ(packed_size(8, 47), 47u);
  EXPECT_EQ(packed_size(9, 47), 53u);
  EXPECT_EQ(packed_size(UINT64_MAX, 1), uint64_t{1} << 61);
  EXPECT_EQ(packed_size(uint64_t{1} << 35, 64), uint64_t{1} << 38);
  EXPECT_THROW(packed_size(UINT64_MAX, 64), Error);
  EXPECT_THROW(packed_size(UINT64_MAX / 4, 33), Error);
  EXPECT_THROW(packed_size(1, 0), Error);
  EXPECT_THROW(packed_size(1, 65), Error);
}

TEST(BitPacking, RoundTripEveryWidth) {
  std::mt19937_64 rng(12345);
  // Counts around the 8-value groups, and long enough for the fast path with a tail.
  const size_t counts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 23, 64, 65, 1000, 1003, 4099};
  for (int bits = 1; bits <= 64; ++bits) {
    const uint64_t top = max_value(bits);
    for (size_t n : counts) {
      std::vector<uint64_t> random(n), ones(n, top), alternating(n), high(n), low(n, 0);
      for (size_t i = 0; i < n; ++i) {
        random[i] = rng() & top;
        alternating[i] = i % 2 ? top : 0;
        high[i] = uint64_t{1} << (bits - 1);
      }
      expect_round_trip(random, bits);
      expect_round_trip(ones, bits);
      expect_round_trip(alternating, bits);
      expect_round_trip(high, bits);
      expect_round_trip(low, bits);
    }
  }
}

// A prefix of a longer stream (a packed column read up to T < N values): the bits after the
// prefix belong to other values and are not checked; too few bytes are an error.
TEST(BitPacking, LeadingValuesOfALongerStream) {
  std::mt19937_64 rng(9);
  for (int bits : {3, 29, 47, 64})
    for (size_t count : {1, 7, 8, 9, 100}) {
      std::vector<uint64_t> all(count + 13);
      for (auto& v : all) v = rng() & max_value(bits);
      const std::vector<uint8_t> stream = pack(all, bits);
      for (PackKernel kernel : {PackKernel::kBest, PackKernel::kPortable}) {
        std::vector<uint64_t> lead(count);
        unpack_leading_bits(std::span(stream.data(), packed_size(count, bits)), bits, lead, kernel);
        EXPECT_TRUE(std::equal(lead.begin(), lead.end(), all.begin())) << bits << " " << count;
      }
      std::vector<uint64_t> lead(count);
      EXPECT_THROW(
          unpack_leading_bits(std::span(stream.data(), packed_size(count, bits) - 1), bits, lead),
          Error);
    }
}

TEST(BitPacking, SetPadBitRejected) {
  for (int bits = 1; bits <= 64; ++bits)
    for (size_t n = 1; n <= 17; ++n) {
      const int used = n * bits % 8;  // bits of the last byte in use
      if (used == 0) continue;
      std::vector<uint64_t> values(n, max_value(bits));
      std::vector<uint8_t> packed = pack(values, bits);
      ASSERT_EQ(packed.back(), (1u << used) - 1);
      for (int pad = used; pad < 8; ++pad) {
        std::vector<uint8_t> bad = packed;
        bad.back() |= static_cast<uint8_t>(1u << pad);
        std::vector<uint64_t> out(n);
        EXPECT_THROW(unpack_bits(bad, bits, out), Error) << "bits " << bits << " n " << n;
      }
    }
}

TEST(BitPacking, SizeMismatchRejected) {
  std::vector<uint64_t> values(20, 3);
  std::vector<uint8_t> packed = pack(values, 5);  // 13 bytes
  std::vector<uint8_t> longer(14), shorter(12);
  EXPECT_THROW(pack_bits(values, 5, longer), Error);
  EXPECT_THROW(pack_bits(values, 5, shorter), Error);
  std::vector<uint64_t> out(20);
  EXPECT_THROW(unpack_bits(std::span(packed).first(12), 5, out), Error);
  packed.push_back(0);
  EXPECT_THROW(unpack_bits(packed, 5, out), Error);
  std::vector<uint64_t> fewer(19), more(21);
  packed.pop_back();
  EXPECT_THROW(unpack_bits(packed, 5, more), Error);
  // 19 values of 5 bits also take 12 bytes, so 13 bytes are a mismatch.
  EXPECT_THROW(unpack_bits(packed, 5, fewer), Error);
}

TEST(BitPacking, ValueTooWideRejected) {
  for (int bits = 1; bits < 64; ++bits)
    for (size_t at : {size_t{0}, size_t{13}, size_t{40}}) {  // a fast group and the tail
      std::vector<uint64_t> values(41, 0);
      values[at] = uint64_t{1} << bits;
      std::vector<uint8_t> out(packed_size(values.size(), bits));
      try {
        pack_bits(values, bits, out);
        ADD_FAILURE() << "bits " << bits << " at " << at << ": no error";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("at index " + std::to_string(at)), std::string::npos)
            << e.what();
      }
    }
}

TEST(BitPacking, BadWidthRejected) {
  std::vector<uint64_t> values(1);
  std::vector<uint8_t> bytes(1);
  for (int bits : {0, -1, 65}) {
    EXPECT_THROW(pack_bits(values, bits, bytes), Error);
    EXPECT_THROW(unpack_bits(bytes, bits, values), Error);
  }
}

}  // namespace
}  // namespace cipherlora
