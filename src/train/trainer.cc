#include "train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "formats/atomic_file.h"
#include "formats/safetensors.h"
#include "model/peft_adapter.h"
#include "train/grad_clip.h"
#include "train/shuffle.h"

namespace cipherlora {
namespace fs = std::filesystem;

namespace {

// Concatenates examples (in order) into rows of exactly seq_len tokens; the last row may be
// shorter. A row's first token is never a target (nothing precedes it in that row).
std::vector<Example> pack_rows(const std::vector<const Example*>& order, int64_t seq_len) {
  std::vector<Example> rows(1);
  for (const Example* e : order)
    for (size_t i = 0; i < e->tokens.size(); ++i) {
      if (static_cast<int64_t>(rows.back().tokens.size()) == seq_len) rows.emplace_back();
      rows.back().tokens.push_back(e->tokens[i]);
      rows.back().is_target.push_back(e->is_target[i]);
    }
  return rows;
}

}  // namespace

Trainer::Trainer(LlamaModel& model, LoraAdapter& adapter, std::vector<Example> train,
                 std::vector<Example> eval, TrainOptions opts, int32_t pad_id)
    : model_(model),
      adapter_(adapter),
      train_(std::move(train)),
      eval_(std::move(eval)),
      opts_(std::move(opts)),
      pad_id_(pad_id < 0 ? 0 : pad_id),
      schedule_(parse_schedule(opts_.scheduler)) {
  require(!train_.empty(), "no training examples");
  require(opts_.seq_len >= 2, "--seq-len must be at least 2");
  require(opts_.seq_len <= model_.config().max_positions,
          "--seq-len " + std::to_string(opts_.seq_len) + " exceeds the model's context of " +
              std::to_string(model_.config().max_positions));
  require(opts_.batch_size >= 1, "--batch-size must be at least 1");
  require(opts_.grad_accum >= 1, "--grad-accum must be at least 1");
  require(opts_.epochs >= 1 || opts_.max_steps > 0, "--epochs must be at least 1");
  require(opts_.max_steps >= 0, "--max-steps must not be negative");
  require(opts_.lr > 0.0 && std::isfinite(opts_.lr), "--lr must be positive");
  require(opts_.weight_decay >= 0.0, "--weight-decay must not be negative");
  require(opts_.max_grad_norm >= 0.0, "--max-grad-norm must not be negative");
  require(opts_.warmup_steps >= 0, "--warmup-steps must not be negative");
  require(model_.adapter() == &adapter_, "trainer: the model does not use this adapter");

  const int64_t rows = static_cast<int64_t>(epoch_rows(0).size());
  batches_per_epoch_ = (rows + opts_.batch_size - 1) / opts_.batch_size;
  steps_per_epoch_ = (batches_per_epoch_ + opts_.grad_accum - 1) / opts_.grad_accum;
  total_steps_ = opts_.max_steps > 0 ? opts_.max_steps : opts_.epochs * steps_per_epoch_;

  AdamWConfig acfg;
  acfg.weight_decay = opts_.weight_decay;
  optimizer_ = std::make_unique<AdamW>(acfg);
  for (int64_t l = 0; l < adapter_.n_layers(); ++l)
    for (Proj p : adapter_.config().targets) {
      LoraPair& pair = adapter_.at(l, p);
      if (!pair.active()) continue;
      for (auto [w, g] : {std::pair{&pair.A, &pair.dA}, std::pair{&pair.B, &pair.dB}}) {
        grads_.push_back(std::span<float>(*g));
        optimizer_->add_param(std::span<float>(*w), std::span<const float>(*g));
      }
    }
  require(!grads_.empty(), "the adapter has no trainable parameters");
}

Trainer::~Trainer() = default;

const std::vector<const Example*>& Trainer::epoch_rows(int64_t epoch) {
  if (epoch == cached_epoch_) return epoch_rows_;
  const std::vector<int64_t> perm =
      epoch_permutation(static_cast<int64_t>(train_.size()), opts_.seed, epoch);
  epoch_rows_.clear();
  for (int64_t i : perm) epoch_rows_.push_back(&train_[i]);
  if (opts_.pack) {
    packed_ = pack_rows(epoch_rows_, opts_.seq_len);
    epoch_rows_.clear();
    for (const Example& e : packed_) epoch_rows_.push_back(&e);
  }
  cached_epoch_ = epoch;
  return epoch_rows_;
}

StepRecord Trainer::train_step() {
  require(step_ < total_steps_, "training is already complete");
  const auto t0 = std::chrono::steady_clock::now();
  StepRecord rec;
  rec.epoch = step_ / steps_per_epoch_;
  const int64_t first = (step_ % steps_per_epoch_) * opts_.grad_accum;
  const int64_t count = std::min(opts_.grad_accum, batches_per_epoch_ - first);
  const std::vector<const Example*>& rows = epoch_rows(rec.epoch);

  // The step's batches, built first so that the loss can be normalised over all their targets.
  std::vector<TokenBatch> batches;
  int64_t targets = 0;
  for (int64_t b = first; b < first + count; ++b) {
    std::vector<const Example*> group;
    for (int64_t i = b * opts_.batch_size;
         i < std::min<int64_t>((b + 1) * opts_.batch_size, static_cast<int64_t>(rows.size())); ++i)
      group.push_back(rows[i]);
    batches.push_back(make_batch(group, opts_.seq_len, pad_id_));
    targets += batches.back().n_targets();
    for (const Example* e : group)
      rec.tokens += std::min<int64_t>(opts_.seq_len, static_cast<int64_t>(e->tokens.size()));
  }

  adapter_.zero_grad();
  double loss_sum = 0.0;
  if (targets > 0) {
    const float scale = 1.0f / static_cast<float>(targets);
    for (size_t i = 0; i < batches.size(); ++i) {
      model_.set_dropout(opts_.seed, static_cast<uint64_t>(step_ * opts_.grad_accum) + i);
      loss_sum += model_.forward_backward(batches[i], scale);
    }
  }
  rec.loss = targets > 0 ? loss_sum / static_cast<double>(targets)
                         : std::numeric_limits<double>::quiet_NaN();
  rec.grad_norm = opts_.max_grad_norm > 0.0 ? clip_grad_norm(grads_, opts_.max_grad_norm)
                                            : global_grad_norm(grads_);
  rec.lr = lr_at(schedule_, opts_.lr, step_, opts_.warmup_steps, total_steps_);
  optimizer_->step(rec.lr);
  rec.step = ++step_;
  rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rec;
}

double Trainer::evaluate() {
  if (eval_.empty()) return std::numeric_limits<double>::quiet_NaN();
  double sum = 0.0;
  int64_t n = 0;
  for (size_t i = 0; i < eval_.size(); i += static_cast<size_t>(opts_.batch_size)) {
    std::vector<const Example*> group;
    for (size_t j = i; j < std::min(eval_.size(), i + static_cast<size_t>(opts_.batch_size)); ++j)
      group.push_back(&eval_[j]);
    TokenBatch b = make_batch(group, opts_.seq_len, pad_id_);
    n += b.n_targets();
    if (b.n_targets() > 0) sum += model_.forward_loss(b, nullptr);
  }
  return n > 0 ? sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
}

std::string Trainer::options_fingerprint() const {
  const LoraConfig& c = adapter_.config();
  nlohmann::json j = {
      {"seq_len", opts_.seq_len},
      {"batch_size", opts_.batch_size},
      {"grad_accum", opts_.grad_accum},
      {"total_steps", total_steps_},
      {"pack", opts_.pack},
      {"lr", opts_.lr},
      {"weight_decay", opts_.weight_decay},
      {"max_grad_norm", opts_.max_grad_norm},
      {"scheduler", opts_.scheduler},
      {"warmup_steps", opts_.warmup_steps},
      {"seed", opts_.seed},
      {"train_examples", train_.size()},
      {"r", c.r},
      {"alpha", c.alpha},
      {"dropout", c.dropout},
      {"rslora", c.use_rslora},
      {"first_layer", c.first_layer},
      {"trainable", adapter_.trainable_parameters()},
  };
  return j.dump();
}

void Trainer::save_checkpoint(const std::string& dir, const std::string& base_model) const {
  const fs::path tmp = dir + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  save_peft_adapter((tmp / "adapter").string(), adapter_, base_model);
  std::vector<float> state;
  optimizer_->save_state(state);
  write_safetensors((tmp / "optimizer.safetensors").string(),
                    {{"adamw_state", {static_cast<int64_t>(state.size())}, std::move(state)}});
  const std::string js =
      nlohmann::json({{"step", step_}, {"options", options_fingerprint()}}).dump(2) + "\n";
  AtomicFileWriter out((tmp / "trainer_state.json").string());
  out.write(js.data(), js.size());
  out.commit();
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir);
}

void Trainer::load_checkpoint(const std::string& dir) {
  std::ifstream in(dir + "/trainer_state.json");
  require(in.good(), "checkpoint " + dir + ": trainer_state.json is missing");
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  require(j.is_object() && j.contains("step") && j.contains("options"),
          "checkpoint " + dir + ": trainer_state.json is corrupt");
  require(j["options"].get<std::string>() == options_fingerprint(),
          "checkpoint " + dir +
              " was made with other training options or data; resume with the same flags");
  const int64_t step = j["step"].get<int64_t>();
  require(step >= 0 && step <= total_steps_, "checkpoint " + dir + ": step out of range");

  LoraAdapter saved = load_peft_adapter(dir + "/adapter", model_.config());
  for (int64_t l = 0; l < adapter_.n_layers(); ++l)
    for (Proj p : adapter_.config().targets) {
      LoraPair& dst = adapter_.at(l, p);
      if (!dst.active()) continue;
      const LoraPair& src = saved.at(l, p);
      require(src.A.size() == dst.A.size() && src.B.size() == dst.B.size(),
              "checkpoint " + dir + ": adapter shape differs from this run's");
      // Copy in place: the optimizer holds pointers into dst.
      std::copy(src.A.begin(), src.A.end(), dst.A.begin());
      std::copy(src.B.begin(), src.B.end(), dst.B.begin());
    }
  SafetensorsFile st = SafetensorsFile::open(dir + "/optimizer.safetensors");
  optimizer_->load_state(st.read_f32("adamw_state"), step);
  step_ = step;
}

}  // namespace cipherlora
