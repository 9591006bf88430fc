// The combined secrets against their definition Σ_k op(W)[k, j]·s_k written out here, in both
// directions; their public bounds against the formulas and against the values they bound; and
// the int16 form taken exactly when the public bound allows it and every value fits.
#include "he/combined_secret.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace cipherlora {
namespace {

struct Weight {
  int64_t out, in;
  std::vector<int8_t> wq;                                // [out, in]
  int8_t op(int64_t k, int64_t j, bool forward) const {  // op(W)[k, j]
    return forward ? wq[j * in + k] : wq[k * in + j];
  }
};

Weight random_weight(int64_t out, int64_t in, int amplitude, std::mt19937_64& rng) {
  Weight w{out, in, std::vector<int8_t>(out * in)};
  for (auto& v : w.wq)
    v = static_cast<int8_t>(static_cast<int>(rng() % (2 * amplitude + 1)) - amplitude);
  return w;
}

std::vector<int8_t> random_secrets(int64_t K, int64_t N, std::mt19937_64& rng) {
  std::vector<int8_t> s(K * N);
  for (auto& v : s) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
  return s;
}

TEST(CombinedSecrets, AreTheWeightedSumsOfTheSecretsBothWays) {
  std::mt19937_64 rng(1);
  const int64_t N = 64;
  const Weight w = random_weight(5, 37, 127, rng);
  for (const bool forward : {true, false}) {
    const int64_t K = forward ? w.in : w.out, m = forward ? w.out : w.in;
    const std::vector<int8_t> s = random_secrets(K, N, rng);
    const LargeVector<int32_t> got =
        combined_secrets(w.wq.data(), w.out, w.in, forward, s.data(), N);
    ASSERT_EQ(static_cast<int64_t>(got.size()), m * N);
    for (int64_t j = 0; j < m; ++j)
      for (int64_t c = 0; c < N; ++c) {
        int64_t want = 0;
        for (int64_t k = 0; k < K; ++k) want += int64_t{w.op(k, j, forward)} * s[k * N + c];
        ASSERT_EQ(got[j * N + c], want) << "forward " << forward << " j=" << j << " c=" << c;
      }
  }
}

TEST(CombinedSecrets, BoundsFollowTheirFormulasAndHold) {
  std::mt19937_64 rng(2);
  const int64_t N = 256;
  const Weight w = random_weight(24, 300, 60, rng);
  for (const bool forward : {true, false}) {
    const int64_t K = forward ? w.in : w.out, m = forward ? w.out : w.in;
    double l1 = 0, l2 = 0;  // max over columns j of op(W)
    for (int64_t j = 0; j < m; ++j) {
      double a = 0, b = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double v = w.op(k, j, forward);
        a += std::abs(v);
        b += v * v;
      }
      l1 = std::max(l1, a);
      l2 = std::max(l2, b);
    }
    const std::vector<int8_t> s = random_secrets(K, N, rng);
    LargeVector<int32_t> c = combined_secrets(w.wq.data(), w.out, w.in, forward, s.data(), N);
    double largest_l2 = 0, largest = 0;
    for (int64_t j = 0; j < m; ++j) {
      double sum = 0;
      for (int64_t t = 0; t < N; ++t) {
        const double v = c[j * N + t];
        sum += v * v;
        largest = std::max(largest, std::abs(v));
      }
      largest_l2 = std::max(largest_l2, std::sqrt(sum));
    }
    // ‖s'_j‖₂ <= 2·√(2N/3)·max_j ‖op(W)_j‖₂, which random secrets keep to.
    const double rms = 2 * std::sqrt(2.0 * N / 3 * l2);
    EXPECT_DOUBLE_EQ(combined_secret_l2_bound(w.wq.data(), w.out, w.in, forward, c.data(), N), rms);
    EXPECT_LE(largest_l2, rms);
    // Hoeffding with a 2^-64 union bound: t = √(2L·(ln(2mN) + 64·ln 2)).
    const double max_bound = combined_secret_max_bound(w.wq.data(), w.out, w.in, forward, N);
    EXPECT_NEAR(max_bound, std::sqrt(2 * l2 * (std::log(2.0 * m * N) + 64 * std::log(2.0))),
                1e-9 * max_bound);
    EXPECT_LE(largest, max_bound);
    // A column past the rms bound (not from these secrets) falls back to the worst case √N·‖W‖₁.
    std::fill(c.begin(), c.begin() + N, static_cast<int32_t>(rms));
    EXPECT_DOUBLE_EQ(combined_secret_l2_bound(w.wq.data(), w.out, w.in, forward, c.data(), N),
                     std::sqrt(double(N)) * l1);
  }
}

// SmolLM2-sized weights (K = 576, int8 weights of RMS ~ 48) narrow; the benchmark's uniform
// ±127 weights at K = 4096 do not.
TEST(CombinedSecrets, PublicMaxBoundAtRealAndBenchmarkShapes) {
  std::mt19937_64 rng(3);
  const Weight small = random_weight(64, 576, 83, rng);  // uniform ±83: RMS 48
  EXPECT_LT(combined_secret_max_bound(small.wq.data(), 64, 576, true, 2048), 32767);
  const Weight large = random_weight(8, 4096, 127, rng);
  EXPECT_GT(combined_secret_max_bound(large.wq.data(), 8, 4096, true, 2048), 32767);
}

TEST(CombinedSecrets, NarrowOnlyWhenTheBoundAndEveryValueFit) {
  LargeVector<int32_t> c = {-32768, 32767, 0, 5, -7, 1000};
  const LargeVector<int16_t> narrow = narrow_combined_secrets(c, 32767);
  ASSERT_EQ(narrow.size(), c.size());
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(narrow[i], c[i]);
  EXPECT_TRUE(narrow_combined_secrets(c, 32768).empty());  // the public bound decides first
  c[3] = 32768;  // the 2^-64 event: a value past the bound keeps the int32 form
  EXPECT_TRUE(narrow_combined_secrets(c, 30000).empty());
  c[3] = -32769;
  EXPECT_TRUE(narrow_combined_secrets(c, 30000).empty());
}

}  // namespace
}  // namespace cipherlora
