// AdamW against torch.optim.AdamW and against closed forms of its first step.
#include "train/adamw.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "formats/test_util.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

using test::expect_error;
using Floats = std::vector<float>;

// |got - want| within a few fp32 ulps of want (torch's CPU sqrt is MKL's, which is not always
// correctly rounded, so bit equality with torch is not expected).
void expect_close(const Floats& got, const Floats& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 3e-7 * std::abs(want[i]) + 1e-12) << "at " << i;
}

TEST(AdamW, MatchesTorchOnAHandCase) {
  // Values from torch 2.13:
  //   p = tensor([0.5, -1.25, 2.0, 0.0, 3.0]); q = tensor([1.0, -0.75])
  //   opt = torch.optim.AdamW([p, q], lr=1.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)
  //   steps with lr 1e-2, 5e-3, 0.0 and the gradients below; printed with '%.9g'.
  Floats p = {0.5f, -1.25f, 2.0f, 0.0f, 3.0f}, q = {1.0f, -0.75f};
  Floats gp(5), gq(2);
  AdamW opt(AdamWConfig{.weight_decay = 0.1});
  opt.add_param(p, gp);
  opt.add_param(q, gq);

  gp = {0.1f, -0.2f, 0.3f, 0.0f, -4.0f}, gq = {2.0f, 0.5f};
  opt.step(1e-2);
  expect_close(p, {0.489500016f, -1.23874998f, 1.98800004f, 0.0f, 3.00699997f});
  expect_close(q, {0.989000022f, -0.759249985f});

  gp = {0.05f, 0.2f, -0.3f, 0.0f, -1.0f}, gq = {-2.0f, 0.25f};
  opt.step(5e-3);
  expect_close(p, {0.484594345f, -1.23839378f, 1.98726916f, 0.0f, 3.00964952f});
  expect_close(q, {0.988768637f, -0.763531268f});

  gp = {-0.1f, 0.1f, 0.1f, 0.0f, 0.5f}, gq = {1.0f, 1e-9f};
  opt.step(0.0);  // a warmup step at lr 0: parameters stay, moments move
  expect_close(p, {0.484594345f, -1.23839378f, 1.98726916f, 0.0f, 3.00964952f});
  expect_close(q, {0.988768637f, -0.763531268f});
  EXPECT_EQ(opt.steps(), 3);

  Floats state;
  opt.save_state(state);
  ASSERT_EQ(state.size(), 14u);  // m_p, v_p, m_q, v_q
  expect_close(Floats(state.begin(), state.begin() + 5),
               {0.00260000024f, 0.0117999995f, 0.00729999924f, 0.0f, -0.363999993f});
  expect_close(Floats(state.begin() + 5, state.begin() + 10),
               {2.24775104e-05f, 8.98800499e-05f, 0.000189730112f, 0.0f, 0.0172170177f});
}

TEST(AdamW, FirstStepMovesByLrAgainstTheGradientSign) {
  // Step 1: m/(1-b1) = g and sqrt(v)/sqrt(1-b2) = |g|, so p -= lr · g / (|g| + eps).
  Floats p = {1.0f, 1.0f, 1.0f, 1.0f}, g = {3.0f, -0.5f, 1e-3f, 0.0f};
  AdamW opt(AdamWConfig{});
  opt.add_param(p, g);
  opt.step(0.25);
  EXPECT_NEAR(p[0], 0.75f, 1e-7);
  EXPECT_NEAR(p[1], 1.25f, 1e-7);
  EXPECT_NEAR(p[2], 1.0 - 0.25 * 1e-3 / (1e-3 + 1e-8), 1e-7);  // eps is 1e-5 of |g| here
  EXPECT_EQ(p[3], 1.0f);  // a zero gradient gives 0 / (0 + eps) = 0
}

TEST(AdamW, BetaBelowOneHalfUsesTheOtherLerpForm) {
  // beta1 = 0.25: m = g - (g - m)·(1 - 0.75) stays exact; step 1 still moves by lr·sign(g).
  Floats p = {0.0f, 0.0f}, g = {2.0f, -8.0f};
  AdamW opt(AdamWConfig{.beta1 = 0.25, .beta2 = 0.5});
  opt.add_param(p, g);
  opt.step(0.5);
  EXPECT_NEAR(p[0], -0.5f, 1e-7);
  EXPECT_NEAR(p[1], 0.5f, 1e-7);
  Floats state;
  opt.save_state(state);
  EXPECT_EQ(state[0], 1.5f);   // 0.75 · 2
  EXPECT_EQ(state[1], -6.0f);  // 0.75 · -8
  EXPECT_EQ(state[2], 2.0f);   // 0.5 · 4
  EXPECT_EQ(state[3], 32.0f);  // 0.5 · 64
}

TEST(AdamW, WeightDecayAloneShrinksGeometrically) {
  // Zero gradients leave m = v = 0, so each step only multiplies by 1 - lr·wd = 0.999.
  Floats p = {2.0f, -3.0f}, g = {0.0f, 0.0f};
  AdamW opt(AdamWConfig{.weight_decay = 0.1});
  opt.add_param(p, g);
  for (int i = 0; i < 10; ++i) opt.step(0.01);
  EXPECT_NEAR(p[0], 2.0 * std::pow(0.999, 10), 1e-6);
  EXPECT_NEAR(p[1], -3.0 * std::pow(0.999, 10), 1e-6);
}

// Runs `steps` steps of AdamW over two tensors with gradients drawn from a fixed seed, optionally
// saving the state after `resume_at` steps and continuing in a fresh optimizer (that loads the
// saved state when `load` is set).
Floats run(int steps, int resume_at, int64_t n, bool load = true) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  Floats a(n), b(n / 3 + 1), ga(a.size()), gb(b.size());
  for (float& x : a) x = normal(rng);
  for (float& x : b) x = normal(rng);
  const AdamWConfig cfg{.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6, .weight_decay = 0.05};
  auto opt = std::make_unique<AdamW>(cfg);
  opt->add_param(a, ga);
  opt->add_param(b, gb);
  for (int s = 0; s < steps; ++s) {
    if (s == resume_at) {
      Floats state;
      opt->save_state(state);
      const int64_t done = opt->steps();
      opt = std::make_unique<AdamW>(cfg);
      opt->add_param(a, ga);
      opt->add_param(b, gb);
      if (load) opt->load_state(state, done);
    }
    for (float& x : ga) x = normal(rng);
    for (float& x : gb) x = normal(rng);
    opt->step(1e-3 * (s + 1));
  }
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(AdamW, ResumeFromSavedStateIsBitIdentical) {
  const Floats straight = run(6, -1, 100);
  const Floats resumed = run(6, 3, 100);
  ASSERT_EQ(straight.size(), resumed.size());
  for (size_t i = 0; i < straight.size(); ++i) ASSERT_EQ(straight[i], resumed[i]) << i;
  // A fresh optimizer without the saved state takes different steps.
  EXPECT_NE(run(6, 3, 100, /*load=*/false), straight);
}

TEST(AdamW, ThreadCountDoesNotChangeTheResult) {
  const int before = num_threads();
  set_num_threads(1);
  const Floats one = run(3, -1, 1 << 16);
  set_num_threads(2);
  const Floats two = run(3, -1, 1 << 16);
  set_num_threads(before);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) ASSERT_EQ(one[i], two[i]) << i;
}

TEST(AdamW, RejectsBadInput) {
  expect_error([] { AdamW(AdamWConfig{.beta1 = 1.0}); }, {"beta1", "[0, 1)"});
  expect_error([] { AdamW(AdamWConfig{.beta2 = -0.1}); }, {"beta2"});
  expect_error([] { AdamW(AdamWConfig{.eps = -1.0}); }, {"eps"});
  expect_error([] { AdamW(AdamWConfig{.weight_decay = -0.01}); }, {"weight decay"});
  Floats p(4), g(3), state;
  AdamW opt(AdamWConfig{});
  expect_error([&] { opt.add_param(p, g); }, {"4 values", "3"});
  g.resize(4);
  opt.add_param(p, g);
  expect_error([&] { opt.step(-1e-3); }, {"learning rate"});
  expect_error([&] { opt.load_state(Floats(7), 1); }, {"7 values", "expected 8"});
  expect_error([&] { opt.load_state(Floats(8), -1); }, {"step count"});
}

}  // namespace
}  // namespace cipherlora
