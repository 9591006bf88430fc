// The combined secrets against their definition Σ_k op(W)[k, j]·s_k written out here, in both
// directions and both storage widths; their public bounds against the formulas and against the
// values they bound; and the int32 fallback when values break the public bound.
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

// The value of s'_j[c] that `got` holds, whichever width it was kept in.
int64_t value(const CombinedSecrets& got, int64_t at) {
  return got.narrow.empty() ? got.wide[at] : got.narrow[at];
}

// Checks every coefficient against the definition; returns max_j ‖s'_j‖₂.
double check_against_definition(const Weight& w, bool forward, const std::vector<int8_t>& s,
                                int64_t N, const CombinedSecrets& got) {
  const int64_t K = forward ? w.in : w.out, m = forward ? w.out : w.in;
  EXPECT_NE(got.narrow.empty(), got.wide.empty());  // exactly one width
  EXPECT_EQ(static_cast<int64_t>(got.narrow.size() + got.wide.size()), m * N);
  double largest = 0;
  for (int64_t j = 0; j < m; ++j) {
    double norm = 0;
    for (int64_t c = 0; c < N; ++c) {
      int64_t want = 0;
      for (int64_t k = 0; k < K; ++k) want += int64_t{w.op(k, j, forward)} * s[k * N + c];
      EXPECT_EQ(value(got, j * N + c), want) << "forward " << forward << " j=" << j << " c=" << c;
      norm += static_cast<double>(want) * want;
    }
    largest = std::max(largest, std::sqrt(norm));
  }
  return largest;
}

double max_column_norm(const Weight& w, bool forward, int p) {  // max_j ‖op(W)_j‖_p^p
  const int64_t K = forward ? w.in : w.out, m = forward ? w.out : w.in;
  double best = 0;
  for (int64_t j = 0; j < m; ++j) {
    double sum = 0;
    for (int64_t k = 0; k < K; ++k)
      sum += std::pow(std::abs(static_cast<double>(w.op(k, j, forward))), p);
    best = std::max(best, sum);
  }
  return best;
}

TEST(CombinedSecrets, AreTheWeightedSumsOfTheSecretsInEitherWidth) {
  std::mt19937_64 rng(1);
  const int64_t N = 64;
  // Short columns: the public bound allows int16. Columns of 3000 weights of ±127: it does not
  // (about 46,600). Both directions: K is `in` forward and `out` backward.
  const Weight short_w = random_weight(45, 37, 127, rng);
  const Weight long_forward = random_weight(3, 3000, 127, rng);
  const Weight long_backward = random_weight(3000, 3, 127, rng);
  for (const bool forward : {true, false})
    for (const bool wide : {false, true}) {
      const Weight& w = !wide ? short_w : forward ? long_forward : long_backward;
      const int64_t K = forward ? w.in : w.out;
      const std::vector<int8_t> s = random_secrets(K, N, rng);
      const CombinedSecrets got = combined_secrets(w.wq.data(), w.out, w.in, forward, s.data(), N);
      EXPECT_EQ(got.wide.empty(), !wide) << "forward " << forward << " K=" << K;
      const double largest = check_against_definition(w, forward, s, N, got);
      EXPECT_EQ(got.l2_bound,
                combined_secret_l2_bound(largest_column_norms(w.wq.data(), w.out, w.in, forward),
                                         largest, N));
    }
}

TEST(CombinedSecrets, BoundsFollowTheirFormulasAndHold) {
  std::mt19937_64 rng(2);
  const int64_t N = 256;
  const Weight w = random_weight(24, 300, 60, rng);
  for (const bool forward : {true, false}) {
    const int64_t K = forward ? w.in : w.out, m = forward ? w.out : w.in;
    const double l1 = max_column_norm(w, forward, 1), l2 = max_column_norm(w, forward, 2);
    const WeightNorms norms = largest_column_norms(w.wq.data(), w.out, w.in, forward);
    EXPECT_EQ(norms.l1, l1);  // integer sums: exact
    EXPECT_EQ(norms.l2_squared, l2);
    const std::vector<int8_t> s = random_secrets(K, N, rng);
    const CombinedSecrets c = combined_secrets(w.wq.data(), w.out, w.in, forward, s.data(), N);
    double largest = 0;
    for (int64_t i = 0; i < m * N; ++i) largest = std::max(largest, std::abs(double(value(c, i))));
    // ‖s'_j‖₂ <= 2·√(2N/3)·max_j ‖op(W)_j‖₂, which random secrets keep to.
    const double rms = 2 * std::sqrt(2.0 * N / 3 * l2);
    EXPECT_DOUBLE_EQ(c.l2_bound, rms);
    // Past it (not with these secrets) the bound falls back to the worst case √N·‖W‖₁.
    EXPECT_DOUBLE_EQ(combined_secret_l2_bound(norms, rms, N), rms);
    EXPECT_DOUBLE_EQ(combined_secret_l2_bound(norms, rms + 1, N), std::sqrt(double(N)) * l1);
    // Hoeffding with a 2^-64 union bound: t = √(2L·(ln(2mN) + 64·ln 2)).
    const double max_bound = combined_secret_max_bound(norms, m, N);
    EXPECT_NEAR(max_bound, std::sqrt(2 * l2 * (std::log(2.0 * m * N) + 64 * std::log(2.0))),
                1e-9 * max_bound);
    EXPECT_LE(largest, max_bound);
  }
}

// SmolLM2-sized weights (K = 576, int8 weights of RMS ~ 48) narrow; the benchmark's uniform
// ±127 weights at K = 4096 do not.
TEST(CombinedSecrets, PublicMaxBoundAtRealAndBenchmarkShapes) {
  std::mt19937_64 rng(3);
  const Weight small = random_weight(64, 576, 83, rng);  // uniform ±83: RMS 48
  EXPECT_LT(
      combined_secret_max_bound(largest_column_norms(small.wq.data(), 64, 576, true), 64, 2048),
      32767);
  const Weight large = random_weight(8, 4096, 127, rng);
  EXPECT_GT(
      combined_secret_max_bound(largest_column_norms(large.wq.data(), 8, 4096, true), 8, 2048),
      32767);
}

// The 2^-64 event, forced: "secrets" of all ones (no real secret looks like this) make s'_j the
// column sums, 400·127 = 50,800, past a public bound of about 25,000: the values stay int32.
TEST(CombinedSecrets, ValuesPastThePublicBoundStayInt32) {
  const int64_t N = 64;
  const Weight w{1, 400, std::vector<int8_t>(400, 127)};
  ASSERT_LT(combined_secret_max_bound(largest_column_norms(w.wq.data(), 1, 400, true), 1, N),
            32768);
  const std::vector<int8_t> ones(400 * N, 1);
  const CombinedSecrets got = combined_secrets(w.wq.data(), 1, 400, true, ones.data(), N);
  ASSERT_TRUE(got.narrow.empty());
  ASSERT_EQ(got.wide.size(), static_cast<size_t>(N));
  for (int64_t c = 0; c < N; ++c) EXPECT_EQ(got.wide[c], 400 * 127);
  // ‖s'‖₂ = √N·50,800 exceeds the rms bound: the worst-case bound is used.
  EXPECT_DOUBLE_EQ(got.l2_bound, std::sqrt(double(N)) * 400 * 127);
}

}  // namespace
}  // namespace cipherlora
