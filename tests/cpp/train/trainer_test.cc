// The training loop in process, on the tiny random Llama of model/tiny_llama.h and hand-made
// examples: step arithmetic, gradient accumulation normalised over all targets of a step, packing,
// and checkpoints that resume bit for bit.
#include "train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include "formats/test_util.h"
#include "linear/clear_backend.h"
#include "model/tiny_llama.h"
#include "train/shuffle.h"

namespace cipherlora {
namespace {

using test::expect_error;
using test::same_bits;
using test::TempDir;

// An example of n random tokens whose first n_prompt tokens are not targets.
Example make_example(int64_t n, int64_t n_prompt, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(3, 36);  // tiny_config's vocabulary is 37
  Example e;
  for (int64_t i = 0; i < n; ++i) {
    e.tokens.push_back(tok(rng));
    e.is_target.push_back(i >= n_prompt ? 1 : 0);
  }
  return e;
}

// Examples of the given lengths, each with a 2-token prompt.
std::vector<Example> make_examples(const std::vector<int64_t>& lengths) {
  std::vector<Example> ex;
  for (size_t i = 0; i < lengths.size(); ++i)
    ex.push_back(make_example(lengths[i], 2, 100 + static_cast<uint32_t>(i)));
  return ex;
}

// A model and an adapter (non-zero B, so every factor gets a gradient) the trainer can drive.
struct TinyRun {
  explicit TinyRun(uint32_t adapter_seed = 3, float dropout = 0.0f,
                   Precision base = Precision::fp32)
      : model(testing::tiny_weights(testing::tiny_config(), 11), clear_backend_factory(base)),
        adapter(testing::random_adapter(testing::tiny_config(), lora_config(dropout), adapter_seed,
                                        0.5f)) {
    model.set_head_precision(base);
    model.set_adapter(&adapter);
  }
  static LoraConfig lora_config(float dropout) {
    LoraConfig lc;
    lc.r = 2;
    lc.alpha = 4.0f;
    lc.dropout = dropout;
    lc.targets = parse_lora_targets("all");
    return lc;
  }
  // Every A and B (or dA and dB), concatenated in layer and projection order.
  std::vector<float> weights() const { return collect(false); }
  std::vector<float> grads() const { return collect(true); }
  std::vector<float> collect(bool grads) const {
    std::vector<float> all;
    for (int64_t l = 0; l < adapter.n_layers(); ++l)
      for (Proj p : adapter.config().targets) {
        const LoraPair& pair = adapter.at(l, p);
        const std::vector<float>& a = grads ? pair.dA : pair.A;
        const std::vector<float>& b = grads ? pair.dB : pair.B;
        all.insert(all.end(), a.begin(), a.end());
        all.insert(all.end(), b.begin(), b.end());
      }
    return all;
  }

  LlamaModel model;
  LoraAdapter adapter;
};

TrainOptions small_options() {
  TrainOptions o;
  o.seq_len = 16;
  o.batch_size = 2;
  o.grad_accum = 1;
  o.lr = 1e-2;
  o.seed = 7;
  return o;
}

// max |a - b| <= rel · max |b|.
void expect_close(const std::vector<float>& a, const std::vector<float>& b, double rel) {
  ASSERT_EQ(a.size(), b.size());
  double diff = 0.0, scale = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(b[i])));
  }
  EXPECT_GT(scale, 0.0);
  EXPECT_LE(diff, rel * scale) << "max difference " << diff << " at scale " << scale;
}

TEST(Trainer, StepArithmetic) {
  struct Case {
    int64_t n, batch, accum, epochs, max_steps, steps_per_epoch, total;
  };
  // steps per epoch = ceil(ceil(n / batch) / accum); total = epochs · that, or max_steps.
  for (const Case& c :
       {Case{7, 2, 2, 3, 0, 2, 6}, Case{7, 3, 2, 1, 0, 2, 2}, Case{5, 1, 3, 2, 0, 2, 4},
        Case{8, 2, 2, 1, 0, 2, 2}, Case{5, 1, 3, 1, 5, 2, 5}, Case{3, 4, 1, 2, 0, 1, 2}}) {
    SCOPED_TRACE("n " + std::to_string(c.n) + " batch " + std::to_string(c.batch) + " accum " +
                 std::to_string(c.accum) + " epochs " + std::to_string(c.epochs) + " max_steps " +
                 std::to_string(c.max_steps));
    std::vector<int64_t> lengths;
    int64_t epoch_tokens = 0;
    for (int64_t i = 0; i < c.n; ++i) {
      lengths.push_back(4 + i);
      epoch_tokens += 4 + i;
    }
    TinyRun s;
    TrainOptions o = small_options();
    o.batch_size = c.batch;
    o.grad_accum = c.accum;
    o.epochs = c.epochs;
    o.max_steps = c.max_steps;
    Trainer t(s.model, s.adapter, make_examples(lengths), {}, o, 0);
    EXPECT_EQ(t.steps_per_epoch(), c.steps_per_epoch);
    EXPECT_EQ(t.total_steps(), c.total);
    // Every step reports its epoch, and each full epoch covers every token once.
    std::vector<int64_t> tokens_per_epoch;
    while (t.step() < t.total_steps()) {
      const StepRecord r = t.train_step();
      EXPECT_EQ(r.step, t.step());
      EXPECT_EQ(r.epoch, (r.step - 1) / c.steps_per_epoch);
      if (static_cast<int64_t>(tokens_per_epoch.size()) <= r.epoch) tokens_per_epoch.push_back(0);
      tokens_per_epoch[r.epoch] += r.tokens;
    }
    EXPECT_EQ(t.step(), c.total);
    for (size_t e = 0; e + 1 < tokens_per_epoch.size(); ++e) {
      EXPECT_EQ(tokens_per_epoch[e], epoch_tokens);
    }
    if (c.total % c.steps_per_epoch == 0) {
      EXPECT_EQ(tokens_per_epoch.back(), epoch_tokens);
    }
    expect_error([&] { t.train_step(); }, {"already complete"});
  }
}

TEST(Trainer, GradientAccumulationMatchesOneLargeBatch) {
  // Four examples with 1, 6, 2 and 9 targets: a mean of per-micro-batch means would weigh them
  // differently from the mean over all 18 targets of the step.
  const std::vector<Example> ex = make_examples({3, 8, 4, 11});
  TrainOptions o = small_options();
  o.max_grad_norm = 0.0;  // the raw gradients are compared
  o.epochs = 1;

  // Reference loss: Σ over examples of the summed loss, over all targets, before any update.
  TinyRun ref;
  double loss_sum = 0.0;
  int64_t n_targets = 0;
  for (const Example& e : ex) {
    const TokenBatch b = make_batch({&e}, o.seq_len, 0);
    loss_sum += ref.model.forward_loss(b, nullptr);
    n_targets += b.n_targets();
  }
  ASSERT_EQ(n_targets, 18);

  TinyRun one, accum;
  TrainOptions o_one = o, o_accum = o;
  o_one.batch_size = 4;
  o_accum.batch_size = 2;
  o_accum.grad_accum = 2;
  Trainer t_one(one.model, one.adapter, ex, {}, o_one, 0);
  Trainer t_accum(accum.model, accum.adapter, ex, {}, o_accum, 0);
  ASSERT_EQ(t_one.total_steps(), 1);
  ASSERT_EQ(t_accum.total_steps(), 1);
  const StepRecord r_one = t_one.train_step();
  const StepRecord r_accum = t_accum.train_step();

  EXPECT_NEAR(r_one.loss, loss_sum / 18.0, 1e-6 * r_one.loss);
  EXPECT_NEAR(r_accum.loss, loss_sum / 18.0, 1e-6 * r_one.loss);
  EXPECT_NEAR(r_accum.grad_norm, r_one.grad_norm, 1e-6 * r_one.grad_norm);
  EXPECT_EQ(r_one.tokens, 26);
  EXPECT_EQ(r_accum.tokens, 26);
  expect_close(accum.grads(), one.grads(), 1e-6);
  expect_close(accum.weights(), one.weights(), 1e-6);
  // The step did change the weights.
  TinyRun before;
  EXPECT_FALSE(same_bits(one.weights(), before.weights()));
}

TEST(Trainer, PackBuildsFullRowsInOrder) {
  // 30 tokens in rows of 8: three full rows and one of 6.
  const std::vector<Example> ex = make_examples({5, 9, 3, 7, 6});
  TrainOptions o = small_options();
  o.seq_len = 8;
  o.batch_size = 1;
  o.pack = true;
  o.epochs = 2;
  TinyRun s;
  Trainer t(s.model, s.adapter, ex, {}, o, 0);
  EXPECT_EQ(t.steps_per_epoch(), 4);

  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    // The expected rows: the epoch's examples concatenated in shuffled order, cut every 8 tokens.
    std::vector<int32_t> tokens;
    std::vector<uint8_t> is_target;
    for (int64_t i : epoch_permutation(static_cast<int64_t>(ex.size()), o.seed, epoch)) {
      tokens.insert(tokens.end(), ex[i].tokens.begin(), ex[i].tokens.end());
      is_target.insert(is_target.end(), ex[i].is_target.begin(), ex[i].is_target.end());
    }
    ASSERT_EQ(tokens.size(), 30u);
    for (int64_t row = 0; row < 4; ++row) {
      SCOPED_TRACE("epoch " + std::to_string(epoch) + " row " + std::to_string(row));
      const int64_t begin = row * 8, len = std::min<int64_t>(8, 30 - begin);
      TokenBatch b;
      b.B = 1;
      b.T = len;
      for (int64_t j = 0; j < len; ++j) {
        b.tokens.push_back(tokens[begin + j]);
        const bool next_is_target = j + 1 < len && is_target[begin + j + 1];
        b.targets.push_back(next_is_target ? tokens[begin + j + 1] : kIgnoreTarget);
      }
      ASSERT_GT(b.n_targets(), 0);
      // The step's loss is computed with the weights before its update: those of now.
      const double want = s.model.forward_loss(b, nullptr) / static_cast<double>(b.n_targets());
      const StepRecord r = t.train_step();
      EXPECT_EQ(r.tokens, len);
      EXPECT_EQ(r.epoch, epoch);
      EXPECT_NEAR(r.loss, want, 1e-6 * want);
    }
  }
}

TEST(Trainer, Bf16BaseReachesNearlyTheSameLoss) {
  // 24 steps of the same run with the frozen base (linears and head) in fp32 and in bf16: the
  // loss falls by a quarter or more in both, while bf16's stays within 3% of fp32's at every
  // step and on the held-out examples at the end (measured: about 1%).
  const std::vector<Example> ex = make_examples({12, 9, 14, 10, 11, 13});
  const std::vector<Example> held_out = make_examples({10, 12});
  TrainOptions o = small_options();
  o.epochs = 8;  // 3 steps per epoch
  TinyRun fp32(3, 0.0f, Precision::fp32), bf16(3, 0.0f, Precision::bf16);
  Trainer t32(fp32.model, fp32.adapter, ex, held_out, o, 0);
  Trainer t16(bf16.model, bf16.adapter, ex, held_out, o, 0);
  ASSERT_EQ(t32.total_steps(), 24);
  double first = 0.0, last32 = 0.0, last16 = 0.0, worst = 0.0;
  while (t32.step() < t32.total_steps()) {
    const StepRecord r32 = t32.train_step(), r16 = t16.train_step();
    if (r32.step == 1) first = r32.loss;
    last32 = r32.loss, last16 = r16.loss;
    worst = std::max(worst, std::abs(r16.loss - r32.loss) / r32.loss);
  }
  EXPECT_LT(last32, 0.75 * first);
  EXPECT_LT(last16, 0.75 * first);
  EXPECT_LT(worst, 0.03) << "largest relative loss difference over the steps";
  const double e32 = t32.evaluate(), e16 = t16.evaluate();
  EXPECT_NEAR(e16, e32, 0.03 * e32);
  // The runs did differ: bf16 really ran.
  EXPECT_NE(last16, last32);
}

TEST(Trainer, CheckpointResumesBitForBit) {
  TempDir dir;
  const std::vector<Example> ex = make_examples({4, 7, 5, 9, 3, 6, 8, 5});
  TrainOptions o = small_options();
  o.epochs = 2;  // 4 steps per epoch: the resumed steps cross into epoch 1
  o.scheduler = "cosine";
  o.warmup_steps = 2;
  o.weight_decay = 0.01;
  o.max_grad_norm = 0.5;

  TinyRun first(3, 0.2f);
  Trainer t1(first.model, first.adapter, ex, {}, o, 0);
  for (int i = 0; i < 3; ++i) t1.train_step();
  t1.save_checkpoint(dir.file("step-3"), "tiny");
  const std::vector<float> at_3 = first.weights();
  std::vector<StepRecord> want;
  for (int i = 0; i < 2; ++i) want.push_back(t1.train_step());

  TinyRun second(99, 0.2f);  // other initial weights: all must come from the checkpoint
  Trainer t2(second.model, second.adapter, ex, {}, o, 0);
  t2.load_checkpoint(dir.file("step-3"));
  EXPECT_EQ(t2.step(), 3);
  EXPECT_TRUE(same_bits(second.weights(), at_3));
  for (int i = 0; i < 2; ++i) {
    const StepRecord r = t2.train_step();
    EXPECT_EQ(r.step, want[i].step);
    EXPECT_EQ(r.epoch, want[i].epoch);
    EXPECT_EQ(r.loss, want[i].loss);
    EXPECT_EQ(r.lr, want[i].lr);
    EXPECT_EQ(r.grad_norm, want[i].grad_norm);
  }
  EXPECT_EQ(want[1].epoch, 1);
  EXPECT_TRUE(same_bits(second.weights(), first.weights()));
  EXPECT_FALSE(same_bits(second.weights(), at_3));
}

TEST(Trainer, CheckpointOfOtherOptionsIsRefused) {
  TempDir dir;
  const std::vector<Example> ex = make_examples({4, 7, 5, 9});
  const TrainOptions o = small_options();
  {
    TinyRun s;
    Trainer t(s.model, s.adapter, ex, {}, o, 0);
    t.train_step();
    t.save_checkpoint(dir.file("ck"), "tiny");
  }
  TrainOptions other_lr = o;
  other_lr.lr = 2e-2;
  TrainOptions other_seed = o;
  other_seed.seed = 8;
  for (const TrainOptions& other : {other_lr, other_seed}) {
    TinyRun s;
    Trainer t(s.model, s.adapter, ex, {}, other, 0);
    const std::vector<float> before = s.weights();
    expect_error([&] { t.load_checkpoint(dir.file("ck")); }, {dir.file("ck"), "other training"});
    EXPECT_EQ(t.step(), 0);
    EXPECT_TRUE(same_bits(s.weights(), before));
  }
  // Another adapter rank.
  TinyRun s;
  LoraConfig lc = TinyRun::lora_config(0.0f);
  lc.r = 3;
  LoraAdapter r3(testing::tiny_config(), lc);
  r3.init_peft_default(1);
  s.model.set_adapter(&r3);
  Trainer t(s.model, r3, ex, {}, o, 0);
  expect_error([&] { t.load_checkpoint(dir.file("ck")); }, {dir.file("ck")});
  expect_error([&] { t.load_checkpoint(dir.file("missing")); }, {dir.file("missing")});
}

}  // namespace
}  // namespace cipherlora
