#include "tensor/vec_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cipherlora {
namespace {

TEST(ExpF32, WithinTwoUlpOfDoubleExpOverNormalRange) {
  // Sweep the whole normal-output range densely, comparing with double-precision exp.
  double worst_ulps = 0;
  for (double xd = -87.0; xd <= 88.7; xd += 0.00731) {
    const float x = static_cast<float>(xd);
    const double want = std::exp(static_cast<double>(x));
    const double ulp = std::ldexp(1.0, std::ilogb(want) - 23);
    worst_ulps = std::max(worst_ulps, std::fabs(exp_f32(x) - want) / ulp);
  }
  EXPECT_LE(worst_ulps, 1.5);
}

TEST(ExpF32, EdgeCases) {
  EXPECT_EQ(exp_f32(0.0f), 1.0f);
  EXPECT_EQ(exp_f32(-200.0f), 0.0f);
  EXPECT_EQ(exp_f32(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(exp_f32(100.0f), std::numeric_limits<float>::infinity());
  EXPECT_EQ(exp_f32(std::numeric_limits<float>::infinity()),
            std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
  // Largest finite result and subnormal results.
  EXPECT_TRUE(std::isfinite(exp_f32(88.72f)));
  EXPECT_NEAR(exp_f32(88.72f), std::exp(double(88.72f)), 2.4e-7 * std::exp(double(88.72f)));
  EXPECT_NEAR(exp_f32(-95.0f), std::exp(-95.0), 3e-45);  // subnormal: a few spacings of 1.4e-45
  EXPECT_GT(exp_f32(-95.0f), 0.0f);
}

}  // namespace
}  // namespace cipherlora
