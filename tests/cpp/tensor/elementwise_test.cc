#include "tensor/elementwise.h"

#include <gtest/gtest.h>

#include <vector>

#include "tensor/test_util.h"

namespace cipherlora {
namespace {

// Large enough to be split over threads, and not a multiple of the chunk size.
constexpr int64_t kN = 100003;

TEST(Elementwise, AddAxpyScale) {
  auto a = test::random_floats(kN, 1), b = test::random_floats(kN, 2);
  std::vector<double> want(kN);

  std::vector<float> out(kN);
  add(a.data(), b.data(), out.data(), kN);
  for (int64_t i = 0; i < kN; ++i) want[i] = double(a[i]) + b[i];
  test::expect_close(out, want, 1e-7, 0.0, "add");

  auto y = b;
  axpy(-0.5f, a.data(), y.data(), kN);
  for (int64_t i = 0; i < kN; ++i) want[i] = b[i] - 0.5 * a[i];
  test::expect_close(y, want, 1e-6, 1e-7, "axpy");

  auto x = a;
  scale(x.data(), 3.0f, kN);
  for (int64_t i = 0; i < kN; ++i) want[i] = 3.0 * a[i];
  test::expect_close(x, want, 1e-7, 0.0, "scale");

  add(x.data(), a.data(), x.data(), 5);  // aliasing output
  EXPECT_FLOAT_EQ(x[0], 4.0f * a[0]);
}

TEST(Elementwise, SumSquares) {
  auto a = test::random_floats(kN, 3);
  double want = 0;
  for (float v : a) want += double(v) * v;
  EXPECT_NEAR(sum_squares(a.data(), kN), want, 1e-12 * want);
  const float three[] = {1.0f, 2.0f, -2.0f};
  EXPECT_EQ(sum_squares(three, 3), 9.0);
}

}  // namespace
}  // namespace cipherlora
