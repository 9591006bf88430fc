#include "tensor/swiglu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tensor/test_util.h"

namespace cipherlora {
namespace {

// Double reference on the fused layout: h[t, i] = silu(g[t, i]) · u[t, i].
std::vector<double> swiglu_ref(const std::vector<double>& gu, int64_t T, int64_t F) {
  std::vector<double> h(T * F);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < F; ++i) {
      const double g = gu[t * 2 * F + i], u = gu[t * 2 * F + F + i];
      h[t * F + i] = g / (1.0 + std::exp(-g)) * u;
    }
  return h;
}

TEST(SwiGlu, ForwardMatchesDoubleReference) {
  const int64_t T = 5, F = 37;
  auto gu = test::random_floats(T * 2 * F, 1, -6.0f, 6.0f);
  std::vector<float> h(T * F);
  swiglu_forward(gu.data(), h.data(), T, F);
  test::expect_close(h, swiglu_ref(test::to_double(gu), T, F), 1e-6, 1e-7, "h");
}

TEST(SwiGlu, BackwardMatchesFiniteDifferences) {
  const int64_t T = 3, F = 21;
  auto gu = test::random_floats(T * 2 * F, 2, -6.0f, 6.0f);
  auto dh = test::random_floats(T * F, 3);
  const auto dhd = test::to_double(dh);
  auto loss = [&](const std::vector<double>& x) {
    auto h = swiglu_ref(x, T, F);
    double l = 0;
    for (size_t i = 0; i < h.size(); ++i) l += dhd[i] * h[i];
    return l;
  };
  const auto want = test::finite_difference(loss, test::to_double(gu));
  std::vector<float> dgu(T * 2 * F, 99.0f);
  swiglu_backward(gu.data(), dh.data(), dgu.data(), T, F);
  test::expect_close(dgu, want, 1e-5, 1e-6, "dgate_up");
  // In place (dgate_up aliasing gate_up) gives the same result.
  auto inplace = gu;
  swiglu_backward(inplace.data(), dh.data(), inplace.data(), T, F);
  test::expect_close(inplace, test::to_double(dgu), 0.0, 0.0, "in-place dgate_up");
}

TEST(SwiGlu, ExtremeGatesStayFinite) {
  const std::vector<float> gu = {-200.0f, 200.0f, 3.0f, 5.0f};  // T = 1, F = 2
  std::vector<float> h(2), dgu(4);
  const std::vector<float> dh = {1.0f, 1.0f};
  swiglu_forward(gu.data(), h.data(), 1, 2);
  EXPECT_EQ(h[0], 0.0f);                 // silu(-200) · 3 underflows to (negative) zero
  EXPECT_FLOAT_EQ(h[1], 200.0f * 5.0f);  // silu(200) = 200
  swiglu_backward(gu.data(), dh.data(), dgu.data(), 1, 2);
  for (float x : dgu) EXPECT_TRUE(std::isfinite(x));
  EXPECT_EQ(dgu[0], 0.0f);
  EXPECT_FLOAT_EQ(dgu[1], 5.0f);    // d silu/dg -> 1
  EXPECT_EQ(dgu[2], 0.0f);          // ∂h/∂up = silu(-200) = 0
  EXPECT_FLOAT_EQ(dgu[3], 200.0f);  // ∂h/∂up = silu(200)
}

}  // namespace
}  // namespace cipherlora
