// Learning-rate schedules, against values worked out by hand from Hugging Face's formulas.
#include "train/lr_schedule.h"

#include <gtest/gtest.h>

#include "formats/test_util.h"

namespace cipherlora {
namespace {

using test::expect_error;

TEST(LrSchedule, ParsesTheThreeNames) {
  EXPECT_EQ(parse_schedule("constant"), Schedule::constant);
  EXPECT_EQ(parse_schedule("linear"), Schedule::linear);
  EXPECT_EQ(parse_schedule("cosine"), Schedule::cosine);
  EXPECT_STREQ(schedule_name(Schedule::cosine), "cosine");
  expect_error([] { parse_schedule("Cosine"); },
               {"unknown learning-rate schedule 'Cosine'", "constant, linear, cosine"});
}

TEST(LrSchedule, WarmupRisesFromZeroAtTheFirstStep) {
  // warmup 4: factors 0, 1/4, 2/4, 3/4, then the schedule proper.
  for (Schedule s : {Schedule::constant, Schedule::linear, Schedule::cosine}) {
    EXPECT_EQ(lr_at(s, 2e-4, 0, 4, 20), 0.0);
    EXPECT_EQ(lr_at(s, 2e-4, 1, 4, 20), 2e-4 * 0.25);
    EXPECT_EQ(lr_at(s, 2e-4, 3, 4, 20), 2e-4 * 0.75);
    EXPECT_EQ(lr_at(s, 2e-4, 4, 4, 20), 2e-4);  // warmup's end is the schedule's start
  }
}

TEST(LrSchedule, ConstantWithoutWarmupIsConstant) {
  EXPECT_EQ(lr_at(Schedule::constant, 1e-3, 0, 0, 10), 1e-3);
  EXPECT_EQ(lr_at(Schedule::constant, 1e-3, 50, 0, 10), 1e-3);
}

TEST(LrSchedule, LinearFallsToZeroAtTotalSteps) {
  // warmup 2, total 10: after warmup (10 - step) / 8.
  EXPECT_EQ(lr_factor(Schedule::linear, 6, 2, 10), 0.5);
  EXPECT_EQ(lr_factor(Schedule::linear, 9, 2, 10), 0.125);
  EXPECT_EQ(lr_factor(Schedule::linear, 10, 2, 10), 0.0);
  EXPECT_EQ(lr_factor(Schedule::linear, 12, 2, 10), 0.0);  // clamped, never negative
  EXPECT_EQ(lr_factor(Schedule::linear, 0, 0, 4), 1.0);    // no warmup: full rate first
  EXPECT_EQ(lr_factor(Schedule::linear, 0, 0, 0), 0.0);    // (0 - 0) / max(1, 0)
}

TEST(LrSchedule, CosineIsHalfAWave) {
  // warmup 2, total 10: progress (step - 2) / 8, factor 0.5 · (1 + cos(π · progress)).
  EXPECT_EQ(lr_factor(Schedule::cosine, 2, 2, 10), 1.0);
  EXPECT_NEAR(lr_factor(Schedule::cosine, 4, 2, 10), 0.8535533905932737, 1e-16);  // (2+√2)/4
  EXPECT_NEAR(lr_factor(Schedule::cosine, 6, 2, 10), 0.5, 1e-16);
  EXPECT_NEAR(lr_factor(Schedule::cosine, 8, 2, 10), 0.14644660940672627, 1e-16);  // (2-√2)/4
  EXPECT_NEAR(lr_factor(Schedule::cosine, 10, 2, 10), 0.0, 1e-16);
  // Past the end HF keeps following the cosine: progress 1.25 gives (2-√2)/4 again.
  EXPECT_NEAR(lr_factor(Schedule::cosine, 12, 2, 10), 0.14644660940672627, 1e-15);
}

TEST(LrSchedule, RejectsNegativeSteps) {
  expect_error([] { lr_factor(Schedule::linear, 0, -1, 10); }, {"warmup -1"});
  expect_error([] { lr_factor(Schedule::linear, -1, 0, 10); }, {"step -1"});
}

}  // namespace
}  // namespace cipherlora
