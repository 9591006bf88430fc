// The LoRA branch kernels: gradients (with and without dropout) against finite differences of a
// double-precision reference of y = s·(drop(x)·Aᵀ)·Bᵀ, and the dropout mask's statistics.
#include "model/lora_linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace cipherlora {
namespace {

constexpr int64_t N = 5, IN = 7, OUT = 6, R = 3;
constexpr float S = 1.7f;

std::vector<float> randn(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Σ g ⊙ y in double, with y = s · (xd · Aᵀ) · Bᵀ and xd = keep ⊙ x · keep_scale.
double objective(const std::vector<float>& x, const LoraPair& p, const std::vector<float>& g,
                 const std::vector<uint8_t>* keep, double keep_scale) {
  double total = 0.0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < OUT; ++o) {
      double y = 0.0;
      for (int64_t r = 0; r < R; ++r) {
        double u = 0.0;
        for (int64_t i = 0; i < IN; ++i) {
          const double xd =
              keep ? ((*keep)[n * IN + i] ? x[n * IN + i] * keep_scale : 0.0) : x[n * IN + i];
          u += xd * p.A[r * IN + i];
        }
        y += u * p.B[o * R + r];
      }
      total += g[n * OUT + o] * S * y;
    }
  return total;
}

class LoraBranch : public ::testing::TestWithParam<float /*dropout p*/> {};

TEST_P(LoraBranch, GradientsMatchFiniteDifferences) {
  const float p_drop = GetParam();
  std::mt19937 rng(5);
  LoraPair p;
  p.in = IN, p.out = OUT;
  p.A = randn(R * IN, rng), p.B = randn(OUT * R, rng);
  p.dA.assign(R * IN, 0.0f), p.dB.assign(OUT * R, 0.0f);
  std::vector<float> x = randn(N * IN, rng), g = randn(N * OUT, rng);

  std::vector<uint8_t> keep(N * IN);
  std::vector<float> xd(N * IN), u(N * R), y(N * OUT, 0.0f), du(N * R), dx(N * IN, 0.0f),
      tmp(N * IN);
  const bool dropped = p_drop > 0.0f;
  const float keep_scale = 1.0f / (1.0f - p_drop);
  if (dropped) dropout_forward(x.data(), N * IN, p_drop, 42, 1, keep.data(), xd.data());
  const float* xin = dropped ? xd.data() : x.data();
  lora_forward(p, S, xin, N, u.data(), y.data(), OUT);
  EXPECT_NEAR(
      [&] {
        double t = 0;
        for (int64_t i = 0; i < N * OUT; ++i) t += g[i] * y[i];
        return t;
      }(),
      objective(x, p, g, dropped ? &keep : nullptr, keep_scale), 1e-4);

  lora_backward(p, S, xin, u.data(), g.data(), OUT, N, du.data(), dx.data(),
                dropped ? keep.data() : nullptr, keep_scale, tmp.data());

  const double eps = 1e-3;
  auto check = [&](std::vector<float>& v, const std::vector<float>& grad, const char* what) {
    for (size_t i = 0; i < v.size(); ++i) {
      const float saved = v[i];
      v[i] = saved + static_cast<float>(eps);
      const double up = objective(x, p, g, dropped ? &keep : nullptr, keep_scale);
      v[i] = saved - static_cast<float>(eps);
      const double down = objective(x, p, g, dropped ? &keep : nullptr, keep_scale);
      v[i] = saved;
      const double num = (up - down) / (2 * eps);
      EXPECT_NEAR(grad[i], num, 2e-3 + 1e-3 * std::abs(num)) << what << "[" << i << "]";
    }
  };
  check(p.A, p.dA, "dA");
  check(p.B, p.dB, "dB");
  check(x, dx, "dx");
}

INSTANTIATE_TEST_SUITE_P(Dropout, LoraBranch, ::testing::Values(0.0f, 0.4f));

TEST(Dropout, KeepsOneMinusPAndIsReproducible) {
  const int64_t n = 200000;
  std::vector<float> x(n, 1.0f), xd(n), xd2(n);
  std::vector<uint8_t> keep(n), keep2(n);
  dropout_forward(x.data(), n, 0.25f, 9, 3, keep.data(), xd.data());
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    kept += keep[i];
    EXPECT_EQ(xd[i], keep[i] ? 1.0f / 0.75f : 0.0f);
  }
  // Binomial(n, 0.75): standard deviation ≈ 194; allow 5σ.
  EXPECT_NEAR(static_cast<double>(kept), 0.75 * n, 5 * std::sqrt(n * 0.75 * 0.25));
  dropout_forward(x.data(), n, 0.25f, 9, 3, keep2.data(), xd2.data());
  EXPECT_EQ(keep, keep2);
  dropout_forward(x.data(), n, 0.25f, 9, 4, keep2.data(), xd2.data());
  EXPECT_NE(keep, keep2);
}

}  // namespace
}  // namespace cipherlora
