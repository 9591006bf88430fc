#include "he/fft_ring_product.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "he/bits_reference.h"

namespace cipherlora {
namespace {

using test::low_bits;

// The reference: schoolbook a·v mod (x^N + 1, 2^log_q) in wrapping uint64 arithmetic.
std::vector<uint64_t> schoolbook(const std::vector<uint64_t>& a, const std::vector<int32_t>& v,
                                 int log_q) {
  const size_t n = a.size();
  std::vector<uint64_t> c(n, 0);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t w = static_cast<uint64_t>(int64_t{v[j]});
    if (w == 0) continue;
    for (size_t i = 0; i < n - j; ++i) c[i + j] += w * a[i];
    for (size_t i = n - j; i < n; ++i) c[i + j - n] -= w * a[i];
  }
  for (auto& x : c) x &= low_bits(log_q);
  return c;
}

double norm2(const std::vector<int32_t>& v) {
  double s = 0;
  for (int32_t x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

// a: random, or all at the extremes of the centred range (the largest limb digits).
std::vector<uint64_t> make_mask(int64_t n, int log_q, const std::string& kind, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> a(n);
  const uint64_t half = uint64_t{1} << (log_q - 1);
  for (auto& x : a) x = kind == "random" ? rng() & low_bits(log_q) : (rng() % 2 ? half : half - 1);
  return a;
}

TEST(FftRingMultiplier, ExactProductsOfMasksAndTernarySecrets) {
  std::mt19937_64 rng(1);
  for (int64_t n : {1024, 2048, 4096})
    for (int log_q : {20, 38, 47, 54, 64})
      for (const char* kind : {"random", "extreme"}) {
        const std::vector<uint64_t> a = make_mask(n, log_q, kind, log_q);
        const FftRingMultiplier mul(a, log_q, std::sqrt(static_cast<double>(n)));
        EXPECT_TRUE(mul.exact());
        std::vector<int32_t> s(n);
        for (auto& x : s) x = static_cast<int32_t>(rng() % 3) - 1;
        if (std::string(kind) == "extreme")
          for (auto& x : s) x = rng() % 2 ? 1 : -1;  // full weight: the largest coefficients
        const std::vector<uint64_t> want = schoolbook(a, s, log_q);
        std::vector<uint64_t> got(n, 7), via_tr(n, 7);
        mul.multiply(s, got.data());
        std::vector<double> tr(FftRingMultiplier::transformed_words(n));
        const std::vector<int8_t> s8(s.begin(), s.end());
        FftRingMultiplier::transform_operand(std::span<const int8_t>(s8), tr.data());
        mul.multiply_transformed(tr.data(), via_tr.data());
        EXPECT_EQ(got, want) << "N=" << n << " log_q=" << log_q << " " << kind;
        EXPECT_EQ(via_tr, want) << "N=" << n << " log_q=" << log_q << " " << kind;
      }
}

// The largest degrees of the security table, with a sparse secret to keep the reference cheap (the
// transforms are the same; the bound assumed is still the dense worst case √N).
TEST(FftRingMultiplier, LargeDegreesWithASparseSecret) {
  for (int64_t n : {8192, 16384, 32768}) {
    std::vector<int32_t> s(n, 0);
    std::mt19937 rng(static_cast<uint32_t>(n));
    for (int k = 0; k < 40; ++k) s[rng() % n] = rng() % 2 ? 1 : -1;
    s[0] = 1;
    s[n - 1] = -1;
    for (int log_q : {30, 47, 64}) {
      const std::vector<uint64_t> a = make_mask(n, log_q, "random", log_q);
      const FftRingMultiplier mul(a, log_q, std::sqrt(static_cast<double>(n)));
      std::vector<uint64_t> got(n);
      mul.multiply(s, got.data());
      EXPECT_EQ(got, schoolbook(a, s, log_q)) << "N=" << n << " log_q=" << log_q;
    }
  }
}

// Wider operands (combined secrets): exact products, and products within a tolerance whose
// error, read as a centred value mod 2^log_q, never exceeds it.
TEST(FftRingMultiplier, WideOperandsExactAndWithinTolerance) {
  std::mt19937_64 rng(2);
  const int64_t n = 2048;
  for (int log_q : {40, 47, 60})
    for (int bits : {10, 17, 20}) {
      std::vector<int32_t> v(n);
      for (auto& x : v) x = static_cast<int32_t>(rng() % (2u << bits)) - (1 << bits);
      const double l2 = norm2(v);
      const std::vector<uint64_t> a = make_mask(n, log_q, bits == 17 ? "extreme" : "random", 3);
      const std::vector<uint64_t> want = schoolbook(a, v, log_q);
      const FftRingMultiplier exact(a, log_q, l2);
      std::vector<uint64_t> got(n);
      exact.multiply(v, got.data());
      EXPECT_EQ(got, want) << "log_q=" << log_q << " bits=" << bits;
      if (bits < 16) {  // operands that fit int16 (narrow combined secrets) give the same product
        const std::vector<int16_t> v16(v.begin(), v.end());
        std::vector<uint64_t> got16(n);
        exact.multiply(std::span<const int16_t>(v16), got16.data());
        EXPECT_EQ(got16, want) << "int16, log_q=" << log_q << " bits=" << bits;
      }
      for (double tolerance : {4.0, 65536.0}) {
        const FftRingMultiplier approx(a, log_q, l2, tolerance);
        EXPECT_LE(approx.limbs(), exact.limbs());
        approx.multiply(v, got.data());
        const int shift = 64 - log_q;
        for (int64_t i = 0; i < n; ++i) {
          const int64_t err = static_cast<int64_t>((got[i] - want[i]) << shift) >> shift;
          ASSERT_LE(std::abs(static_cast<double>(err)), tolerance)
              << "log_q=" << log_q << " bits=" << bits << " i=" << i;
        }
      }
    }
}

// The splits the column client relies on: two limbs for K = 4096 (log_q = 47) both ways.
TEST(FftRingMultiplier, LimbCountsOfTheBenchmarkShape) {
  const std::vector<uint64_t> a(2048, 12345);
  EXPECT_EQ(FftRingMultiplier(a, 47, std::sqrt(2048.0)).limbs(), 2);  // encryption, exact
  EXPECT_EQ(FftRingMultiplier(a, 38, std::sqrt(2048.0)).limbs(), 2);
  EXPECT_EQ(FftRingMultiplier(a, 30, std::sqrt(2048.0)).limbs(), 1);
  // Decryption: ‖s'‖₂ <= 2^18.4, tolerance Δ/16 = 2^16.
  const FftRingMultiplier dec(a, 47, std::exp2(18.4), 65536.0);
  EXPECT_EQ(dec.limbs(), 2);
  EXPECT_FALSE(dec.exact());
  EXPECT_EQ(FftRingMultiplier(a, 47, std::exp2(18.4)).limbs(), 3);  // exact needs one more
}

TEST(FftRingMultiplier, RejectsBadArguments) {
  const std::vector<uint64_t> a(2048, 1);
  EXPECT_THROW(FftRingMultiplier(std::vector<uint64_t>(1000, 1), 47, 10), Error);
  EXPECT_THROW(FftRingMultiplier(a, 1, 10), Error);
  EXPECT_THROW(FftRingMultiplier(a, 65, 10), Error);
  EXPECT_THROW(FftRingMultiplier(a, 47, 0.5), Error);
  EXPECT_THROW(FftRingMultiplier(a, 47, 10, -1), Error);
  EXPECT_THROW(FftRingMultiplier(a, 47, 1e30), Error);  // no exact limb fits
}

}  // namespace
}  // namespace cipherlora
