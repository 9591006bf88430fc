// Global gradient norm and clipping, against hand results and a long-double sum.
#include "train/grad_clip.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "formats/test_util.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

using test::expect_error;
using Floats = std::vector<float>;

TEST(GradClip, NormSpansAllTensors) {
  Floats a = {3.0f, 4.0f}, b = {12.0f}, empty;
  EXPECT_EQ(global_grad_norm(std::vector<std::span<float>>{a, b, empty}), 13.0);
  EXPECT_EQ(global_grad_norm(std::vector<std::span<float>>{}), 0.0);
}

TEST(GradClip, ScalesByMaxNormOverNorm) {
  // norm 13, max 6.5: coef = 6.5 / (13 + 1e-6) ≈ 0.5 · (1 - 7.7e-8)
  Floats a = {3.0f, 4.0f}, b = {-12.0f};
  const double norm = clip_grad_norm({a, b}, 6.5);
  EXPECT_EQ(norm, 13.0);  // the norm before clipping
  EXPECT_NEAR(a[0], 1.5f, 1e-6);
  EXPECT_NEAR(a[1], 2.0f, 1e-6);
  EXPECT_NEAR(b[0], -6.0f, 1e-6);
  EXPECT_LT(a[1], 2.0f);  // the 1e-6 keeps the clipped norm just below max_norm
  EXPECT_NEAR(global_grad_norm(std::vector<std::span<float>>{a, b}), 6.5, 1e-5);
}

TEST(GradClip, LeavesSmallGradientsUntouched) {
  Floats a = {0.3f, -0.4f};
  EXPECT_NEAR(clip_grad_norm({a}, 1.0), 0.5, 1e-7);  // 0.3f, 0.4f are not exact
  EXPECT_EQ(a, (Floats{0.3f, -0.4f}));
}

TEST(GradClip, NormMatchesALongDoubleSumForAnyThreadCount) {
  // Tensors of odd sizes around the 16384-value chunk so that chunk edges and lane tails occur.
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<Floats> t = {Floats(40000), Floats(7), Floats(16384), Floats(16385), Floats(3)};
  long double exact = 0;
  for (Floats& x : t)
    for (float& v : x) {
      v = normal(rng);
      exact += static_cast<long double>(v) * v;
    }
  std::vector<std::span<const float>> spans(t.begin(), t.end());
  const int before = num_threads();
  set_num_threads(1);
  const double one = global_grad_norm(spans);
  set_num_threads(2);
  const double two = global_grad_norm(spans);
  set_num_threads(before);
  EXPECT_EQ(one, two);
  EXPECT_NEAR(one, std::sqrt(static_cast<double>(exact)), 1e-12 * one);
}

TEST(GradClip, RejectsNonPositiveMaxNorm) {
  Floats a = {1.0f};
  expect_error([&] { clip_grad_norm({a}, 0.0); }, {"max gradient norm", "> 0"});
  expect_error([&] { clip_grad_norm({a}, -1.0); }, {"max gradient norm"});
}

}  // namespace
}  // namespace cipherlora
