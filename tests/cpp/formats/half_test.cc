#include "formats/half.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>

#include "formats/test_util.h"

namespace cipherlora {
namespace {

// Round x to `bits` significant bits with ties to even, with exponents clamped below at
// min_exp (the subnormal range), all in double -- exact for every fp32 input.
double round_to_precision(double x, int bits, int min_exp) {
  if (x == 0) return x;
  int e;
  std::frexp(x, &e);                                      // |x| = m * 2^e, m in [0.5, 1)
  const int lsb = std::max(e - 1, min_exp) - (bits - 1);  // weight of the last kept bit
  return std::nearbyint(std::ldexp(x, -lsb)) * std::ldexp(1.0, lsb);  // nearbyint: ties to even
}

TEST(Half, Fp16ToFp32MatchesIeeeDefinitionForAllPatterns) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float got = fp16_to_fp32(static_cast<uint16_t>(h));
    const double want = test::fp16_value(static_cast<uint16_t>(h));
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(got)) << h;
      EXPECT_EQ(std::signbit(got), (h & 0x8000) != 0) << h;
    } else {
      ASSERT_EQ(static_cast<double>(got), want) << h;
      ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << h;  // -0 stays -0
    }
  }
}

TEST(Half, Fp16RoundTripsEveryNonNanPattern) {
  for (uint32_t h = 0; h < 65536; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) continue;  // NaN
    ASSERT_EQ(fp32_to_fp16(fp16_to_fp32(static_cast<uint16_t>(h))), h) << h;
  }
}

TEST(Half, Fp32ToFp16RoundsToNearestEven) {
  // Every 509th fp32 bit pattern (~8.4M values covering all exponents and signs), plus
  // exact ties around every fp16 value.
  auto check = [](float x) {
    const uint16_t h = fp32_to_fp16(x);
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(fp16_to_fp32(h))) << std::bit_cast<uint32_t>(x);
      return;
    }
    double want = round_to_precision(x, 11, -14);
    if (std::fabs(want) > 65504) want = std::copysign(INFINITY, x);
    const float got = fp16_to_fp32(h);
    ASSERT_EQ(static_cast<double>(got), want)
        << "x=" << x << " bits " << std::bit_cast<uint32_t>(x);
    ASSERT_EQ(std::signbit(got), std::signbit(x)) << x;
  };
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 509) {
    check(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  }
  for (uint32_t h = 0; h < 0x7bff; ++h) {  // midpoints between consecutive positive fp16 values
    const double mid = (test::fp16_value(static_cast<uint16_t>(h)) +
                        test::fp16_value(static_cast<uint16_t>(h + 1))) /
                       2;
    check(static_cast<float>(mid));  // mid needs 12 bits: exact in fp32
    check(static_cast<float>(-mid));
  }
}

TEST(Half, Fp32ToFp16KnownValues) {
  EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
  EXPECT_EQ(fp32_to_fp16(0.1f), 0x2e66);
  EXPECT_EQ(fp32_to_fp16(-2.0f), 0xc000);
  EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65519.99f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);  // tie between 65504 and 2^16 -> even -> inf
  EXPECT_EQ(fp32_to_fp16(1e10f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-INFINITY), 0xfc00);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);  // tie -> even (zero)
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(3.0f, -25)), 0x0002);     // 1.5 subnormal units: tie -> 2
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1023.5f, -24)), 0x0400);  // rounds up into the normals
  EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -140)), 0x0000);
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(std::bit_cast<float>(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(NAN))));
}

TEST(Half, Bf16RoundsToNearestEven) {
  auto check = [](float x) {
    const uint16_t h = fp32_to_bf16(x);
    const float got = bf16_to_fp32(h);
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(got)) << std::bit_cast<uint32_t>(x);
      return;
    }
    double want = round_to_precision(x, 8, -126);
    if (std::fabs(want) >= std::ldexp(1.0, 128)) want = std::copysign(INFINITY, x);
    ASSERT_EQ(static_cast<double>(got), want) << "bits " << std::bit_cast<uint32_t>(x);
    ASSERT_EQ(std::signbit(got), std::signbit(x));
  };
  for (uint64_t bits = 0; bits < (uint64_t{1} << 32); bits += 509) {
    check(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  }
  for (uint32_t hi = 0; hi < 0x7f80; ++hi) {  // exact ties and their neighbours
    const uint32_t tie = (hi << 16) | 0x8000u;
    check(std::bit_cast<float>(tie));
    check(std::bit_cast<float>(tie - 1));
    check(std::bit_cast<float>(tie + 1));
  }
}

TEST(Half, Bf16KnownValues) {
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(3.14159265f), 0x4049);
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);           // tie -> even
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);           // tie -> even (up)
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x7f7fffffu)), 0x7f80);           // max float -> inf
  EXPECT_EQ(fp32_to_bf16(std::bit_cast<float>(0x7f800001u)) & 0x7fc0, 0x7fc0);  // quiet NaN
  EXPECT_EQ(bf16_to_fp32(0xc040), -3.0f);
  EXPECT_EQ(bf16_to_fp32(0x0001), std::ldexp(1.0f, -133));  // bf16 subnormal
}

}  // namespace
}  // namespace cipherlora
