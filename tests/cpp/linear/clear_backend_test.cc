// The clear backend in both precisions. fp32 matches a double-precision product; bf16 matches the
// double product of its bf16-rounded operands up to fp32 accumulation, and stays within the
// stated tolerance of the fp32 backend (while really differing from it).
#include "linear/clear_backend.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>

#include "formats/half.h"
#include "tensor/test_util.h"

namespace cipherlora {
namespace {

constexpr int64_t T = 37, kOut = 96, kIn = 160;  // odd T: kernel tails

struct Expected {
  std::vector<double> value, mag;  // Σ a·b and Σ |a·b| in double
};

// y[T, out] = x[T, in]·Wᵀ (forward) or dx[T, in] = dy[T, out]·W (backward), W [out, in].
Expected product(const std::vector<float>& x, const std::vector<float>& w, bool forward) {
  const int64_t rows = T, cols = forward ? kOut : kIn, inner = forward ? kIn : kOut;
  Expected e{std::vector<double>(rows * cols), std::vector<double>(rows * cols)};
  for (int64_t t = 0; t < rows; ++t)
    for (int64_t j = 0; j < cols; ++j)
      for (int64_t k = 0; k < inner; ++k) {
        const double p =
            static_cast<double>(x[t * inner + k]) * (forward ? w[j * kIn + k] : w[k * kIn + j]);
        e.value[t * cols + j] += p, e.mag[t * cols + j] += std::fabs(p);
      }
  return e;
}

std::vector<float> bf16_rounded(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = bf16_to_fp32(fp32_to_bf16(v[i]));
  return out;
}

std::vector<float> run(LinearBackend& lin, const std::vector<float>& in, bool forward) {
  std::vector<float> out(T * (forward ? kOut : kIn), NAN);
  if (forward)
    lin.forward(in.data(), T, out.data());
  else
    lin.backward(in.data(), T, out.data());
  return out;
}

// Every |got - want.value| <= rel · want.mag, the first few misses reported.
void expect_within(const std::vector<float>& got, const Expected& want, double rel,
                   const std::string& what) {
  int misses = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - want.value[i]);
    if (!(err <= rel * want.mag[i]) && ++misses <= 3)
      ADD_FAILURE() << what << "[" << i << "] = " << got[i] << ", want " << want.value[i] << " ± "
                    << rel * want.mag[i];
  }
  EXPECT_EQ(misses, 0) << what;
}

class ClearBackend : public ::testing::Test {
 protected:
  std::vector<float> w = test::random_floats(kOut * kIn, 1);
  std::vector<float> x = test::random_floats(T * kIn, 2);
  std::vector<float> dy = test::random_floats(T * kOut, 3, -1e-3f, 1e-3f);  // gradient-sized
};

TEST_F(ClearBackend, Fp32MatchesDoubleProduct) {
  auto lin = clear_backend_factory()("fp32", w, kOut, kIn);
  EXPECT_EQ(lin->in_features(), kIn);
  EXPECT_EQ(lin->out_features(), kOut);
  ASSERT_NE(lin->clear_weight(), nullptr);
  EXPECT_EQ(lin->clear_weight()[5], w[5]);
  expect_within(run(*lin, x, true), product(x, w, true), 1e-6, "forward");
  expect_within(run(*lin, dy, false), product(dy, w, false), 1e-6, "backward");
}

TEST_F(ClearBackend, Bf16IsTheProductOfRoundedOperands) {
  auto lin = make_clear_backend("bf16", w, kOut, kIn, Precision::bf16);
  EXPECT_EQ(lin->in_features(), kIn);
  EXPECT_EQ(lin->out_features(), kOut);
  EXPECT_EQ(lin->clear_weight(), nullptr);  // only the bf16 copy is kept
  // Both operands rounded to bf16, products exact in fp32: only fp32 accumulation error remains,
  // at most (K - 1)·2^-24 (+ O(u²)) of Σ|a·b|; 2^-24·K bounds it for these K.
  const std::vector<float> wr = bf16_rounded(w);
  expect_within(run(*lin, x, true), product(bf16_rounded(x), wr, true), std::ldexp(kIn, -24),
                "forward");
  expect_within(run(*lin, dy, false), product(bf16_rounded(dy), wr, false), std::ldexp(kOut, -24),
                "backward");
}

TEST_F(ClearBackend, Bf16IsWithinToleranceOfFp32) {
  auto fp32 = clear_backend_factory(Precision::fp32)("fp32", w, kOut, kIn);
  auto bf16 = clear_backend_factory(Precision::bf16)("bf16", w, kOut, kIn);
  // Stated tolerance, per element: |y_bf16 - y_fp32| <= 2^-7 · Σ|x||w|. Rounding each operand to
  // bf16 (8 significant bits) errs by at most 2^-9 relative, so each product by at most
  // 2^-8 + 2^-18; the two fp32 accumulations add at most 2·K·2^-24 < 2^-12 at these K.
  for (bool forward : {true, false}) {
    SCOPED_TRACE(forward ? "forward" : "backward");
    const std::vector<float>& in = forward ? x : dy;
    const std::vector<float> a = run(*bf16, in, forward), b = run(*fp32, in, forward);
    Expected want{std::vector<double>(b.begin(), b.end()), product(in, w, forward).mag};
    expect_within(a, want, std::ldexp(1.0, -7), "bf16 vs fp32");
    // Normwise the random rounding errors mostly cancel: well below 1%, and not zero — the bf16
    // path really rounds.
    double diff = 0.0, norm = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
      diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
      norm += static_cast<double>(b[i]) * b[i];
    }
    const double rel = std::sqrt(diff / norm);
    EXPECT_LT(rel, 1e-2);
    EXPECT_GT(rel, 1e-5);
  }
}

TEST_F(ClearBackend, RejectsAWeightOfTheWrongSize) {
  for (Precision p : {Precision::fp32, Precision::bf16}) {
    try {
      make_clear_backend("layers.1.o", std::vector<float>(10), 3, 4, p);
      ADD_FAILURE() << "no error for " << precision_name(p);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("layers.1.o"), std::string::npos) << e.what();
    }
  }
}

TEST(Precision, ParsesItsNames) {
  EXPECT_EQ(parse_precision("fp32"), Precision::fp32);
  EXPECT_EQ(parse_precision("bf16"), Precision::bf16);
  EXPECT_STREQ(precision_name(Precision::bf16), "bf16");
  EXPECT_THROW(parse_precision("fp16"), Error);
}

}  // namespace
}  // namespace cipherlora
