#include "linear/quantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "common/error.h"
#include "linear/quant_reference.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

struct Quantized {
  std::vector<uint16_t> q;
  float scale = 0;
  int32_t zp = -1;
};

Quantized quantize_row(const std::vector<float>& x, int n_bits) {
  Quantized r;
  r.q.resize(x.size());
  quantize_per_token(x.data(), 1, static_cast<int64_t>(x.size()), n_bits, r.q.data(), &r.scale,
                     &r.zp);
  return r;
}

TEST(RoundHalfEven, MatchesNearbyintIncludingTies) {
  const float ties[] = {0.5f,  1.5f, 2.5f,  -0.5f,    -1.5f,      -2.5f,  3.5f,
                        -3.5f, 0.0f, -0.0f, 65535.5f, 4194303.5f, 254.5f, -127.5f};
  for (float v : ties) EXPECT_EQ(round_half_even(v), std::nearbyint(v)) << v;
  EXPECT_EQ(round_half_even(2.5f), 2.0f);
  EXPECT_EQ(round_half_even(-2.5f), -2.0f);
  EXPECT_EQ(round_half_even(3.5f), 4.0f);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  for (int i = 0; i < 100000; ++i) {
    const float v = dist(rng);
    ASSERT_EQ(round_half_even(v), std::nearbyint(v)) << v;
  }
}

TEST(QuantizePerToken, TwoBitsHalfEvenAndClamp) {
  // lo=-1.5 hi=1.5: scale = 3/3 = 1, zp = rhe(1.5) = 2; -1.5 -> -2+2 = 0, 1.5 -> 2+2 -> clamp 3.
  const Quantized r = quantize_row({-1.5f, 0.0f, 1.5f, 0.4f}, 2);
  EXPECT_EQ(r.scale, 1.0f);
  EXPECT_EQ(r.zp, 2);
  EXPECT_EQ(r.q, (std::vector<uint16_t>{0, 2, 3, 2}));
}

TEST(QuantizePerToken, EightBitsHandWorked) {
  // lo=-64 hi=63.5: scale = 127.5/255 = 0.5, zp = rhe(128) = 128.
  // 1.25/0.5 = 2.5 -> 2 (even), 1.75/0.5 = 3.5 -> 4, -0.25/0.5 = -0.5 -> -0.
  const Quantized r = quantize_row({-64.0f, 1.25f, 1.75f, 0.0f, 63.5f, -0.25f}, 8);
  EXPECT_EQ(r.scale, 0.5f);
  EXPECT_EQ(r.zp, 128);
  EXPECT_EQ(r.q, (std::vector<uint16_t>{0, 130, 132, 128, 255, 128}));
}

TEST(QuantizePerToken, SixteenBitsHandWorked) {
  // lo=-1 hi=65534: scale = 65535/65535 = 1, zp = 1.
  const Quantized r = quantize_row({-1.0f, 0.0f, 65534.0f, 100.5f}, 16);
  EXPECT_EQ(r.scale, 1.0f);
  EXPECT_EQ(r.zp, 1);
  EXPECT_EQ(r.q, (std::vector<uint16_t>{0, 1, 65535, 101}));  // 100.5 -> 100 (even) + 1
}

TEST(QuantizePerToken, AllZeroRowHasUnitScale) {
  for (int bits : {2, 8, 16}) {
    const Quantized r = quantize_row(std::vector<float>(37, 0.0f), bits);
    EXPECT_EQ(r.scale, 1.0f);
    EXPECT_EQ(r.zp, 0);
    EXPECT_EQ(r.q, std::vector<uint16_t>(37, 0));
  }
  const Quantized neg_zero = quantize_row({-0.0f, 0.0f, -0.0f}, 8);
  EXPECT_EQ(neg_zero.scale, 1.0f);
  EXPECT_EQ(neg_zero.zp, 0);
  EXPECT_EQ(neg_zero.q, (std::vector<uint16_t>{0, 0, 0}));
}

TEST(QuantizePerToken, ConstantRows) {
  // Positive constant: lo=0 (0 is always in range), hi=3, scale=1 at 2 bits, zp=0.
  const Quantized pos = quantize_row({3.0f, 3.0f, 3.0f}, 2);
  EXPECT_EQ(pos.scale, 1.0f);
  EXPECT_EQ(pos.zp, 0);
  EXPECT_EQ(pos.q, (std::vector<uint16_t>{3, 3, 3}));
  // Negative constant: lo=-3, hi=0, scale=1, zp=3, every value maps to 0.
  const Quantized neg = quantize_row({-3.0f, -3.0f}, 2);
  EXPECT_EQ(neg.scale, 1.0f);
  EXPECT_EQ(neg.zp, 3);
  EXPECT_EQ(neg.q, (std::vector<uint16_t>{0, 0}));
  // At 8 bits a constant c maps to the top level and dequantizes back to c up to one ulp.
  const Quantized c8 = quantize_row({0.7f, 0.7f}, 8);
  EXPECT_EQ(c8.zp, 0);
  EXPECT_EQ(c8.q, (std::vector<uint16_t>{255, 255}));
  EXPECT_NEAR(255 * c8.scale, 0.7f, 1e-6);
}

TEST(QuantizePerToken, NegativeOnlyRow) {
  // lo=-3 hi=0: scale=1, zp=3; -1 -> 2, -2 -> 1.
  const Quantized r = quantize_row({-3.0f, -1.0f, -2.0f}, 2);
  EXPECT_EQ(r.scale, 1.0f);
  EXPECT_EQ(r.zp, 3);
  EXPECT_EQ(r.q, (std::vector<uint16_t>{0, 2, 1}));
}

TEST(QuantizePerToken, ZeroMapsToZeroPointAndErrorIsHalfAStep) {
  std::mt19937 rng(5);
  for (int bits = kMinQuantBits; bits <= kMaxQuantBits; ++bits) {
    const int64_t T = 9, K = 101;
    std::vector<float> x = test::gaussian_floats(T * K, 100 + bits, 3.0f);
    for (int64_t t = 0; t < T; ++t) {
      // Shift some rows so that they are one-signed, and plant zeros.
      for (int64_t k = 0; k < K; ++k)
        x[t * K + k] += (t % 3 == 1) ? 10.0f : (t % 3 == 2) ? -10.0f : 0;
      for (int z = 0; z < 5; ++z) x[t * K + rng() % K] = 0.0f;
    }
    std::vector<uint16_t> q(T * K);
    std::vector<float> scale(T);
    std::vector<int32_t> zp(T);
    quantize_per_token(x.data(), T, K, bits, q.data(), scale.data(), zp.data());
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t k = 0; k < K; ++k) {
        const float v = x[t * K + k];
        const double back = (static_cast<double>(q[t * K + k]) - zp[t]) * scale[t];
        if (v == 0.0f) {
          ASSERT_EQ(q[t * K + k], zp[t]) << "bits " << bits;
        }
        // Half a step, plus the rounding of v/scale in float (ulp 2^-23 relative to up to L).
        const double bound = (0.5 + std::ldexp(1.0, bits - 22)) * scale[t];
        ASSERT_LE(std::fabs(back - v), bound) << "bits " << bits << " t " << t;
      }
    }
  }
}

TEST(QuantizePerToken, MatchesScalarReferenceAtAllBitWidths) {
  const int64_t T = 23, K = 301;
  std::vector<float> x = test::gaussian_floats(T * K, 11);
  for (int64_t k = 0; k < K; ++k) x[4 * K + k] = 0.0f;                      // all-zero row
  for (int64_t k = 0; k < K; ++k) x[5 * K + k] = -std::fabs(x[5 * K + k]);  // negative only
  for (int64_t k = 0; k < K; ++k) x[6 * K + k] = 1e-41f * (k % 7);          // subnormal
  for (int64_t k = 0; k < K; ++k) x[7 * K + k] *= 3e37f;                    // near overflow
  const std::vector<float> col = test::gaussian_floats(K, 12);
  for (int bits = kMinQuantBits; bits <= kMaxQuantBits; ++bits) {
    for (const float* cs : {static_cast<const float*>(nullptr), col.data()}) {
      const test::RefTokens want = test::ref_quantize_tokens(x.data(), T, K, bits, cs);
      std::vector<uint16_t> q(T * K);
      std::vector<float> scale(T);
      std::vector<int32_t> zp(T);
      quantize_per_token(x.data(), T, K, bits, q.data(), scale.data(), zp.data(), cs);
      EXPECT_EQ(q, want.q) << "bits " << bits;
      EXPECT_EQ(scale, want.scale) << "bits " << bits;
      EXPECT_EQ(zp, want.zp) << "bits " << bits;
      // The byte-limb form holds the same values.
      std::vector<uint8_t> lo(T * K), hi(T * K);
      std::vector<float> scale2(T);
      std::vector<int32_t> zp2(T);
      quantize_per_token_bytes(x.data(), T, K, bits, lo.data(), bits > 8 ? hi.data() : nullptr,
                               scale2.data(), zp2.data(), cs);
      for (int64_t i = 0; i < T * K; ++i)
        ASSERT_EQ(hi[i] * 256 + lo[i], want.q[i]) << "bits " << bits << " i " << i;
      EXPECT_EQ(scale2, want.scale);
      EXPECT_EQ(zp2, want.zp);
    }
  }
}

TEST(QuantizePerToken, IndependentOfThreadCount) {
  const int64_t T = 64, K = 1000;
  const std::vector<float> x = test::gaussian_floats(T * K, 21);
  std::vector<uint16_t> q1(T * K), q2(T * K);
  std::vector<float> s1(T), s2(T);
  std::vector<int32_t> z1(T), z2(T);
  const int saved = num_threads();
  set_num_threads(1);
  quantize_per_token(x.data(), T, K, 12, q1.data(), s1.data(), z1.data());
  set_num_threads(2);
  quantize_per_token(x.data(), T, K, 12, q2.data(), s2.data(), z2.data());
  set_num_threads(saved);
  EXPECT_EQ(q1, q2);
  EXPECT_EQ(s1, s2);
  EXPECT_EQ(z1, z2);
}

TEST(QuantizePerToken, RejectsNonFiniteValuesAndBadBits) {
  std::vector<float> x(3 * 4, 1.0f);
  std::vector<uint16_t> q(12);
  std::vector<float> s(3);
  std::vector<int32_t> z(3);
  x[2 * 4 + 1] = std::numeric_limits<float>::quiet_NaN();
  try {
    quantize_per_token(x.data(), 3, 4, 8, q.data(), s.data(), z.data());
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 2"), std::string::npos) << e.what();
  }
  x[2 * 4 + 1] = -std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_per_token(x.data(), 3, 4, 8, q.data(), s.data(), z.data()), Error);
  x[2 * 4 + 1] = 1.0f;
  for (int bad : {-1, 0, 1, 17, 32})
    EXPECT_THROW(quantize_per_token(x.data(), 3, 4, bad, q.data(), s.data(), z.data()), Error)
        << bad;
  std::vector<uint8_t> lo(12);
  EXPECT_THROW(quantize_per_token_bytes(x.data(), 3, 4, 9, lo.data(), nullptr, s.data(), z.data()),
               Error);
}

TEST(QuantizeWeight, HandWorkedRows) {
  const std::vector<float> w = {
      254.0f, -1.0f, 3.0f, -254.0f, 5.0f,     // max 254: scale 2; -0.5 -> 0, 1.5 -> 2, 2.5 -> 2
      127.0f, -3.5f, 2.5f, 0.4f,    -127.0f,  // scale 1; -3.5 -> -4 (even)
      0.0f,   0.0f,  0.0f, 0.0f,    0.0f,     // all zero: scale 1
  };
  std::vector<int8_t> q(15);
  std::vector<float> s(3);
  quantize_weight_per_channel(w.data(), 3, 5, q.data(), s.data());
  EXPECT_EQ(s, (std::vector<float>{2.0f, 1.0f, 1.0f}));
  EXPECT_EQ(q, (std::vector<int8_t>{127, 0, 2, -127, 2, 127, -4, 2, 0, -127, 0, 0, 0, 0, 0}));
}

TEST(QuantizeWeight, MatchesScalarReference) {
  const int64_t out = 37, in = 513;
  std::vector<float> w = test::gaussian_floats(out * in, 31, 0.02f);
  for (int64_t i = 0; i < in; ++i) w[3 * in + i] = 0.0f;
  for (int64_t i = 0; i < in; ++i) w[4 * in + i] = 1e-42f * (i % 5);
  const test::RefWeights want = test::ref_quantize_weights(w.data(), out, in);
  std::vector<int8_t> q(out * in);
  std::vector<float> s(out);
  quantize_weight_per_channel(w.data(), out, in, q.data(), s.data());
  EXPECT_EQ(q, want.q);
  EXPECT_EQ(s, want.scale);
  w[5 * in + 7] = std::numeric_limits<float>::infinity();
  EXPECT_THROW(quantize_weight_per_channel(w.data(), out, in, q.data(), s.data()), Error);
}

TEST(Dequantize, IsTheExactProductRoundedToDoubleThenFloat) {
  // 3 · 0.5 · 0.25 is exact.
  EXPECT_EQ(dequantize(3, 0.5f, 0.25f), 0.375f);
  EXPECT_EQ(dequantize(-7, 1.0f, 1.0f), -7.0f);
  EXPECT_EQ(dequantize(0, 123.0f, 4.0f), 0.0f);
  // 2^24 + 1 is exact in double and rounds to even (2^24) in float; 2^24 + 3 rounds up.
  EXPECT_EQ(dequantize((int64_t{1} << 24) + 1, 1.0f, 1.0f), 16777216.0f);
  EXPECT_EQ(dequantize((int64_t{1} << 24) + 3, 1.0f, 1.0f), 16777220.0f);
  EXPECT_EQ(dequantize((int64_t{1} << 24) + 1, 2.0f, 0.5f), 16777216.0f);
}

}  // namespace
}  // namespace cipherlora
