#include "tensor/cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/error.h"
#include "tensor/test_util.h"

namespace cipherlora {
namespace {

// Double reference: per-row -log softmax(x)[label] (0 for ignored rows).
std::vector<double> ce_ref(const std::vector<double>& x, const std::vector<int32_t>& labels,
                           int64_t T, int64_t V) {
  std::vector<double> loss(T, 0.0);
  for (int64_t t = 0; t < T; ++t) {
    if (labels[t] == kIgnoreIndex) continue;
    double m = -INFINITY;
    for (int64_t i = 0; i < V; ++i) m = std::max(m, x[t * V + i]);
    double s = 0;
    for (int64_t i = 0; i < V; ++i) s += std::exp(x[t * V + i] - m);
    loss[t] = m + std::log(s) - x[t * V + labels[t]];
  }
  return loss;
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

TEST(CrossEntropy, LossAndGradientMatchDoubleReference) {
  const int64_t T = 6, V = 1001;
  const std::vector<int32_t> labels = {3, kIgnoreIndex, 1000, 0, kIgnoreIndex, 517};
  auto logits = test::random_floats(T * V, 1, -8.0f, 8.0f);
  const auto xd = test::to_double(logits);
  const auto want_rows = ce_ref(xd, labels, T, V);
  const float grad_scale = 0.25f;

  EXPECT_NEAR(cross_entropy_forward(logits.data(), labels.data(), T, V, nullptr), sum(want_rows),
              1e-9 * T);
  std::vector<double> rows(T, -1.0);
  const double total =
      cross_entropy_forward_backward(logits.data(), labels.data(), T, V, grad_scale, rows.data());
  EXPECT_NEAR(total, sum(want_rows), 1e-5);
  for (int64_t t = 0; t < T; ++t) EXPECT_NEAR(rows[t], want_rows[t], 1e-5) << "row " << t;

  // Gradient: grad_scale · (softmax - onehot), zero for ignored rows.
  std::vector<double> want_grad(T * V, 0.0);
  for (int64_t t = 0; t < T; ++t) {
    if (labels[t] == kIgnoreIndex) continue;
    const double lse = want_rows[t] + xd[t * V + labels[t]];
    for (int64_t i = 0; i < V; ++i)
      want_grad[t * V + i] = grad_scale * (std::exp(xd[t * V + i] - lse) - (i == labels[t]));
  }
  test::expect_close(logits, want_grad, 1e-5, 1e-9, "dlogits");
}

TEST(CrossEntropy, GradientMatchesFiniteDifferences) {
  const int64_t T = 3, V = 17;
  const std::vector<int32_t> labels = {4, kIgnoreIndex, 16};
  auto logits = test::random_floats(T * V, 2, -3.0f, 3.0f);
  const float grad_scale = 0.5f;
  auto loss = [&](const std::vector<double>& x) {
    return grad_scale * sum(ce_ref(x, labels, T, V));
  };
  const auto want = test::finite_difference(loss, test::to_double(logits));
  cross_entropy_forward_backward(logits.data(), labels.data(), T, V, grad_scale, nullptr);
  test::expect_close(logits, want, 1e-5, 1e-7, "dlogits");
}

TEST(CrossEntropy, HugeLogitsStayFinite) {
  const int64_t V = 4;
  std::vector<float> logits = {1e4f, -1e4f, 9990.0f, 0.0f};
  const std::vector<int32_t> label = {2};
  const double loss =
      cross_entropy_forward_backward(logits.data(), label.data(), 1, V, 1.0f, nullptr);
  // -log softmax[2] = log(1 + e^-10 + ...) + 10
  EXPECT_NEAR(loss, 10.0 + std::log1p(std::exp(-10.0)), 1e-6);
  for (float g : logits) EXPECT_TRUE(std::isfinite(g));
  EXPECT_NEAR(logits[2], 1.0 / (1.0 + std::exp(10.0)) - 1.0, 1e-6);
}

TEST(CrossEntropy, RejectsOutOfRangeLabel) {
  std::vector<float> logits(8, 0.0f);
  const std::vector<int32_t> bad = {0, 4};
  EXPECT_THROW(cross_entropy_forward_backward(logits.data(), bad.data(), 2, 4, 1.0f, nullptr),
               Error);
  const std::vector<int32_t> negative = {-1, 0};
  EXPECT_THROW(cross_entropy_forward(logits.data(), negative.data(), 2, 4, nullptr), Error);
}

TEST(Generation, SoftmaxArgmaxAndSampling) {
  std::vector<float> x = {1.0f, 3.0f, 3.0f, -2.0f};
  EXPECT_EQ(argmax(x.data(), 4), 1);  // first of the tied maxima

  std::vector<float> p = x;
  softmax(p.data(), 4, 2.0f);
  double z = 0;
  for (float v : x) z += std::exp(v / 2.0);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(p[i], std::exp(x[i] / 2.0) / z, 1e-7);

  // Probabilities 0.1, 0.2, 0.7: u picks the token whose CDF interval holds it.
  const std::vector<float> logits = {std::log(0.1f), std::log(0.2f), std::log(0.7f)};
  std::vector<float> scratch(3);
  EXPECT_EQ(sample_token(logits.data(), 3, 1.0f, 0.05, scratch.data()), 0);
  EXPECT_EQ(sample_token(logits.data(), 3, 1.0f, 0.15, scratch.data()), 1);
  EXPECT_EQ(sample_token(logits.data(), 3, 1.0f, 0.31, scratch.data()), 2);
  EXPECT_EQ(sample_token(logits.data(), 3, 1.0f, 0.999999, scratch.data()), 2);
  EXPECT_EQ(sample_token(logits.data(), 3, 0.0f, 0.05, scratch.data()), 2);  // greedy
}

}  // namespace
}  // namespace cipherlora
