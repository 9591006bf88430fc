// The LoRA training loop: batches from JSONL examples (shuffled per epoch from a seed, each
// example its own right-padded sequence, or packed with `pack`), gradient accumulation with the
// loss normalised over all target tokens of an optimizer step (as Hugging Face's Trainer does),
// max-grad-norm clipping, AdamW and a learning-rate schedule, periodic evaluation, and
// checkpoints from which a resumed run reaches the same final adapter bit for bit.
//
//   Trainer t(model, adapter, train_examples, eval_examples, opts, pad_id);
//   while (t.step() < t.total_steps()) {
//     StepRecord r = t.train_step();
//     if (want_checkpoint) t.save_checkpoint(dir, "HuggingFaceTB/SmolLM2-135M-Instruct");
//   }
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "data/jsonl_dataset.h"
#include "model/llama_model.h"
#include "model/lora.h"
#include "train/adamw.h"
#include "train/lr_schedule.h"

namespace cipherlora {

struct TrainOptions {
  int64_t seq_len = 512;
  int64_t batch_size = 4;
  int64_t grad_accum = 1;
  int64_t epochs = 1;
  int64_t max_steps = 0;  // > 0: stop after this many optimizer steps (overrides epochs)
  bool pack = false;      // concatenate examples into full seq_len rows
  // Doubles, as Hugging Face passes them: torch rounds to fp32 only inside its kernels.
  double lr = 2e-4;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;  // 0 = no clipping
  std::string scheduler = "linear";
  int64_t warmup_steps = 0;
  uint64_t seed = 42;
};

struct StepRecord {
  int64_t step = 0;  // optimizer steps done, after this one
  int64_t epoch = 0;
  double loss = 0.0;       // mean cross-entropy over the step's target tokens
  double lr = 0.0;         // learning rate used by this step
  double grad_norm = 0.0;  // before clipping
  int64_t tokens = 0;      // non-padding tokens processed
  double seconds = 0.0;
};

class Trainer {
 public:
  // `model` must already use `adapter`. Throws Error on unusable options or data.
  Trainer(LlamaModel& model, LoraAdapter& adapter, std::vector<Example> train,
          std::vector<Example> eval, TrainOptions opts, int32_t pad_id);
  ~Trainer();

  int64_t total_steps() const { return total_steps_; }
  int64_t step() const { return step_; }
  int64_t steps_per_epoch() const { return steps_per_epoch_; }
  const TrainOptions& options() const { return opts_; }

  StepRecord train_step();
  // Mean loss over the evaluation examples (forward only); NaN when there are none.
  double evaluate();

  // A checkpoint is a folder: the adapter (peft format), optimizer.safetensors (AdamW moments)
  // and trainer_state.json (step, and the options that must match on resume). Written to a
  // temporary folder first, then renamed into place.
  void save_checkpoint(const std::string& dir, const std::string& base_model) const;
  // Restores adapter, optimizer and step; throws Error when the checkpoint was made with other
  // options or another adapter shape.
  void load_checkpoint(const std::string& dir);

 private:
  // Rows (examples or packed chunks) of epoch e, in training order.
  const std::vector<const Example*>& epoch_rows(int64_t epoch);
  std::string options_fingerprint() const;

  LlamaModel& model_;
  LoraAdapter& adapter_;
  std::vector<Example> train_, eval_;
  TrainOptions opts_;
  int32_t pad_id_;
  Schedule schedule_;
  std::unique_ptr<AdamW> optimizer_;
  std::vector<std::span<float>> grads_;  // every dA, dB, in the optimizer's order
  int64_t batches_per_epoch_ = 0, steps_per_epoch_ = 0, total_steps_ = 0;
  int64_t step_ = 0;
  int64_t cached_epoch_ = -1;
  std::vector<const Example*> epoch_rows_;  // into train_, or into packed_ with `pack`
  std::vector<Example> packed_;
};

}  // namespace cipherlora
