#include "he/column_plan.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "he/security.h"

namespace cipherlora {
namespace {

// The inequalities plan_columns promises (column_plan.h), checked on the numbers it returns.
void expect_sound(const ColumnPlan& p, int64_t x_bound, double l1, double l2) {
  const double delta = std::ldexp(1.0, p.log_delta);
  const double y_max = x_bound * l1;
  EXPECT_GE(delta, 4 * kTailSigmas * 3.2 * l2);  // noise <= Δ/4
  EXPECT_LE(delta * (2 * y_max + 1), std::ldexp(1.0, p.log_q));
  EXPECT_LE(std::ldexp(1.0, p.log_q - p.log_q_b), delta / 4);  // rounding of B <= Δ/8
  EXPECT_GE(p.log_q_b, 1);
  EXPECT_LE(p.log_q_b, p.log_q);
  EXPECT_NO_THROW(check_security(p.log_n, p.log_q, 3.2));
}

TEST(ColumnPlan, EightBitActivationsFitTheNarrowSet) {
  // Worst-case int8 weights (every entry 127) at the benchmark's largest K.
  for (int64_t K : {1, 576, 1536, 4096, 8192}) {
    const double l1 = 127.0 * K, l2 = 127.0 * std::sqrt(static_cast<double>(K));
    const ColumnPlan p = plan_columns(K, 128, l1, l2);
    EXPECT_EQ(p.log_n, 11) << K;
    expect_sound(p, 128, l1, l2);
  }
}

TEST(ColumnPlan, WiderValuesMoveToTheWideSet) {
  const int64_t K = 4096;
  const double l1 = 127.0 * K, l2 = 127.0 * 64;
  const ColumnPlan p = plan_columns(K, 1 << 15, l1, l2);  // 16-bit activations
  EXPECT_EQ(p.log_n, 12);
  EXPECT_LE(p.log_q, 64);
  expect_sound(p, 1 << 15, l1, l2);
}

TEST(ColumnPlan, RefusesWhatNoSetHolds) {
  EXPECT_THROW(plan_columns(1 << 20, 1 << 20, 127.0 * (1 << 20), 127.0 * 1024), Error);
  EXPECT_THROW(plan_columns(0, 128, 1, 1), Error);
}

TEST(ColumnPlan, KnownNumbersForWorstCaseWeights) {
  // K = 4096, every weight 127: y_max = 128·127·4096 = 66,584,576, so 2·y_max + 1 needs 27
  // bits; noise bound 4·10·3.2·127·64 = 1,040,384 < 2^20 -> Δ = 2^20; B rounded by 2^18.
  const ColumnPlan p = plan_columns(4096, 128, 127.0 * 4096, 127.0 * 64);
  EXPECT_EQ(p.log_delta, 20);
  EXPECT_EQ(p.log_q, 47);
  EXPECT_EQ(p.log_q_b, 29);
  EXPECT_EQ(p.log_n, 11);
}

TEST(ColumnPlan, SmallerWeightsNeedFewerBits) {
  const ColumnPlan big = plan_columns(576, 128, 127.0 * 576, 127.0 * 24);
  const ColumnPlan small = plan_columns(576, 128, 20.0 * 576, 25.0 * 24);
  EXPECT_LT(small.log_q, big.log_q);
  expect_sound(small, 128, 20.0 * 576, 25.0 * 24);
}

}  // namespace
}  // namespace cipherlora

namespace cipherlora {
namespace {

bool same_plan(const ColumnPlan& a, const ColumnPlan& b) {
  return a.log_n == b.log_n && a.log_q == b.log_q && a.log_delta == b.log_delta &&
         a.log_q_b == b.log_q_b;
}

TEST(ColumnPlan, PlanForWeightUsesTheColumnsOfOpW) {
  // wq [out = 2, in = 3]. Forward columns are its rows: L1 {6, 5}, L2² {14, 17}. Backward columns
  // are its columns: L1 {5, 2, 4}, L2² {17, 4, 10}. Scaled up so that the norms move the plan.
  const int8_t wq[6] = {10, -20, 30, 40, 0, -10};
  EXPECT_TRUE(
      same_plan(plan_for_weight(wq, 2, 3, true, 128), plan_columns(3, 128, 60, std::sqrt(1700.0))));
  EXPECT_TRUE(same_plan(plan_for_weight(wq, 2, 3, false, 128),
                        plan_columns(2, 128, 50, std::sqrt(1700.0))));
  EXPECT_THROW(plan_for_weight(wq, 0, 3, true, 128), Error);
}

}  // namespace
}  // namespace cipherlora
