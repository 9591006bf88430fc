#include "tensor/rmsnorm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tensor/test_util.h"

namespace cipherlora {
namespace {

// Double-precision reference: y = w * x / sqrt(mean(x²) + eps), per row.
std::vector<double> rmsnorm_ref(const std::vector<double>& x, const std::vector<double>& w,
                                int64_t T, int64_t D, double eps) {
  std::vector<double> y(x.size());
  for (int64_t t = 0; t < T; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < D; ++i) ss += x[t * D + i] * x[t * D + i];
    const double r = 1.0 / std::sqrt(ss / D + eps);
    for (int64_t i = 0; i < D; ++i) y[t * D + i] = w[i] * x[t * D + i] * r;
  }
  return y;
}

TEST(RmsNorm, ForwardMatchesDoubleReference) {
  const int64_t T = 6, D = 67;
  const float eps = 1e-5f;
  auto x = test::random_floats(T * D, 1, -2.0f, 2.0f);
  auto w = test::random_floats(D, 2, 0.5f, 1.5f);
  std::vector<float> y(T * D), inv_rms(T);
  rmsnorm_forward(x.data(), w.data(), y.data(), inv_rms.data(), T, D, eps);
  test::expect_close(y, rmsnorm_ref(test::to_double(x), test::to_double(w), T, D, eps), 1e-6, 1e-7,
                     "y");
  for (int64_t t = 0; t < T; ++t) {
    double ss = 0;
    for (int64_t i = 0; i < D; ++i) ss += double(x[t * D + i]) * x[t * D + i];
    EXPECT_NEAR(inv_rms[t], 1.0 / std::sqrt(ss / D + eps), 1e-6 * inv_rms[t]);
  }
}

TEST(RmsNorm, BackwardMatchesFiniteDifferences) {
  const int64_t T = 4, D = 19;
  const float eps = 1e-5f;
  auto x = test::random_floats(T * D, 3, -2.0f, 2.0f);
  auto w = test::random_floats(D, 4, 0.5f, 1.5f);
  auto dy = test::random_floats(T * D, 5);
  std::vector<float> y(T * D), inv_rms(T);
  rmsnorm_forward(x.data(), w.data(), y.data(), inv_rms.data(), T, D, eps);

  // L = Σ dy · y, so ∂L/∂x is the backward of dy.
  const auto wd = test::to_double(w), dyd = test::to_double(dy);
  auto loss = [&](const std::vector<double>& xs) {
    auto ys = rmsnorm_ref(xs, wd, T, D, eps);
    double l = 0;
    for (size_t i = 0; i < ys.size(); ++i) l += dyd[i] * ys[i];
    return l;
  };
  const auto want = test::finite_difference(loss, test::to_double(x));

  std::vector<float> dx(T * D, 123.0f);  // overwritten
  rmsnorm_backward(x.data(), w.data(), inv_rms.data(), dy.data(), dx.data(), T, D, false);
  test::expect_close(dx, want, 1e-4, 1e-5, "dx");

  // Accumulating adds onto what is there.
  auto base = test::random_floats(T * D, 6);
  std::vector<float> acc = base;
  rmsnorm_backward(x.data(), w.data(), inv_rms.data(), dy.data(), acc.data(), T, D, true);
  std::vector<double> want_acc(T * D);
  for (size_t i = 0; i < want_acc.size(); ++i) want_acc[i] = base[i] + want[i];
  test::expect_close(acc, want_acc, 1e-4, 1e-5, "dx accumulated");
}

}  // namespace
}  // namespace cipherlora
