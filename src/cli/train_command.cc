// `cipherlora train --data FILE.jsonl --out DIR`: fine-tune a LoRA adapter.
//
// Everything the user gave is checked (model, data, adapter, flags) before DIR is created, so a
// bad input leaves no output behind. DIR ends up holding the peft adapter
// (adapter_config.json + adapter_model.safetensors), train_log.jsonl and checkpoints/step-N/.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/backend_choice.h"
#include "cli/base_precision.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "common/error.h"
#include "data/jsonl_dataset.h"
#include "formats/atomic_file.h"
#include "model/model_session.h"
#include "model/peft_adapter.h"
#include "train/trainer.h"

namespace cipherlora {
namespace fs = std::filesystem;

namespace {

struct TrainFlags {
  std::string model, data, out, mode = "clear", targets = "all", init_adapter, eval_data;
  std::string base_precision = "fp32";
  int64_t lora_r = 8;
  float lora_alpha = 16.0f, lora_dropout = 0.0f;
  bool use_rslora = false, resume = false;
  int n_bits = 8;
  int64_t skip_backprop_layers = 0, eval_every = 0, save_every = 50, keep_checkpoints = 2;
  int64_t stop_after = 0;  // > 0: checkpoint and stop after this many steps (resume later)
  bool seq_len_given = false;
  TrainOptions opts;
};

// The newest checkpoints/step-N folder in out, or "" when there is none.
std::string latest_checkpoint(const fs::path& out) {
  std::string best;
  int64_t best_step = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out / "checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("step-", 0) != 0 || name.find('.') != std::string::npos)
      continue;
    const int64_t step = std::strtoll(name.c_str() + 5, nullptr, 10);
    if (step > best_step) best_step = step, best = e.path().string();
  }
  return best;
}

void prune_checkpoints(const fs::path& out, int64_t keep) {
  std::vector<std::pair<int64_t, fs::path>> all;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(out / "checkpoints", ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find('.') == std::string::npos)
      all.push_back({std::strtoll(name.c_str() + 5, nullptr, 10), e.path()});
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i + keep < all.size(); ++i) fs::remove_all(all[i].second, ec);
}

// A run that crashed after its last checkpoint logged steps that the resumed run repeats: keep
// only the records up to the checkpoint's step (the file is rewritten atomically).
void drop_log_after(const fs::path& path, int64_t step) {
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("step", int64_t{0}) > step) continue;
    kept += line + "\n";
  }
  AtomicFileWriter outf(path.string());
  outf.write(kept.data(), kept.size());
  outf.commit();
}

void run_train(const TrainFlags& f) {
  // 1. Inputs, all checked before anything is written.
  require(!f.out.empty(), "--out is required");
  // The quantized backend fixes its own integer arithmetic; bf16 is an option of clear mode only.
  require(f.mode == "clear" || f.base_precision == "fp32",
          "--base-precision " + f.base_precision + " applies to --mode clear only, not --mode " +
              f.mode);
  const Precision precision = base_precision(f.base_precision);
  const fs::path out(f.out);
  require(!fs::exists(out) || fs::is_directory(out), "--out " + f.out + " is not a folder");
  const std::string resume_from = f.resume ? latest_checkpoint(out) : "";
  require(!f.resume || !resume_from.empty(),
          "--resume: no checkpoint in " + (out / "checkpoints").string());
  require(f.resume || !fs::exists(out / "adapter_config.json"),
          "--out " + f.out + " already holds an adapter: pass --resume or another --out");
  const BackendChoice backend = choose_backend(f.mode, f.n_bits, precision);
  ModelSession s = open_model_session(f.model, "", true, backend.factory);
  s.model->set_head_precision(precision);
  const LlamaConfig& mc = s.config;
  TrainOptions opts = f.opts;
  if (!f.seq_len_given) opts.seq_len = std::min(opts.seq_len, mc.max_positions);
  require(f.skip_backprop_layers >= 0 && f.skip_backprop_layers < mc.n_layers,
          "--skip-backprop-layers must be in [0, " + std::to_string(mc.n_layers) + ")");
  DatasetOptions dopt;
  dopt.default_system = s.default_system;
  std::vector<Example> train = load_jsonl(f.data, *s.tokenizer, dopt);
  std::vector<Example> eval;
  if (!f.eval_data.empty()) eval = load_jsonl(f.eval_data, *s.tokenizer, dopt);

  std::unique_ptr<LoraAdapter> adapter;
  if (!f.init_adapter.empty()) {
    adapter = std::make_unique<LoraAdapter>(load_peft_adapter(f.init_adapter, mc));
    require(adapter->config().first_layer >= f.skip_backprop_layers,
            "--init-adapter has adapters below --skip-backprop-layers " +
                std::to_string(f.skip_backprop_layers));
  } else {
    LoraConfig lc;
    lc.r = f.lora_r;
    lc.alpha = f.lora_alpha;
    lc.dropout = f.lora_dropout;
    lc.use_rslora = f.use_rslora;
    lc.targets = parse_lora_targets(f.targets);
    lc.first_layer = f.skip_backprop_layers;
    adapter = std::make_unique<LoraAdapter>(mc, lc);
    adapter->init_peft_default(f.opts.seed);
  }
  s.model->set_adapter(adapter.get());
  s.model->set_first_backprop_layer(f.skip_backprop_layers);
  Trainer trainer(*s.model, *adapter, std::move(train), std::move(eval), opts,
                  s.tokenizer->pad_id());
  if (!resume_from.empty()) trainer.load_checkpoint(resume_from);

  // 2. Outputs.
  fs::create_directories(out / "checkpoints");
  if (!resume_from.empty()) drop_log_after(out / "train_log.jsonl", trainer.step());
  std::ofstream log(out / "train_log.jsonl", std::ios::app);
  require(log.good(), "cannot write " + (out / "train_log.jsonl").string());
  const std::string base = mc.name;
  auto write_log = [&](const nlohmann::json& j) { log << j.dump() << "\n" << std::flush; };

  std::fprintf(
      stderr, "training %s: %lld trainable parameters, %lld steps (%lld per epoch), mode %s%s%s\n",
      mc.name.c_str(), static_cast<long long>(adapter->trainable_parameters()),
      static_cast<long long>(trainer.total_steps()),
      static_cast<long long>(trainer.steps_per_epoch()), f.mode.c_str(),
      precision == Precision::bf16 ? " (bf16 base)" : "",
      resume_from.empty() ? "" : (", resuming at step " + std::to_string(trainer.step())).c_str());
  auto run_eval = [&] {
    const double loss = trainer.evaluate();
    if (std::isnan(loss)) return;
    write_log({{"step", trainer.step()}, {"eval_loss", loss}, {"eval_perplexity", std::exp(loss)}});
    std::fprintf(stderr, "step %lld: eval loss %.4f (perplexity %.3f)\n",
                 static_cast<long long>(trainer.step()), loss, std::exp(loss));
  };
  if (trainer.step() == 0) run_eval();

  Progress bar("train", trainer.total_steps());
  double tokens = 0.0, seconds = 0.0;
  const int64_t stop_at =
      f.stop_after > 0 ? std::min(trainer.total_steps(), f.stop_after) : trainer.total_steps();
  while (trainer.step() < stop_at) {
    const StepRecord r = trainer.train_step();
    tokens += static_cast<double>(r.tokens);
    seconds += r.seconds;
    const double tps = static_cast<double>(r.tokens) / r.seconds;
    write_log({{"step", r.step},
               {"epoch", r.epoch},
               {"loss", r.loss},
               {"lr", r.lr},
               {"grad_norm", r.grad_norm},
               {"tokens", r.tokens},
               {"tokens_per_s", tps}});
    char status[128];
    std::snprintf(status, sizeof status, "loss %.4f  lr %.2e  %.0f tok/s", r.loss, r.lr, tps);
    bar.update(r.step, status);
    if (!bar.enabled() && (r.step % 10 == 0 || r.step == trainer.total_steps()))
      std::fprintf(stderr, "step %lld/%lld  %s\n", static_cast<long long>(r.step),
                   static_cast<long long>(trainer.total_steps()), status);
    const bool last = r.step == trainer.total_steps();
    if (f.eval_every > 0 && (r.step % f.eval_every == 0 || last)) {
      bar.finish();
      run_eval();
    } else if (last && f.eval_every == 0) {
      bar.finish();
      run_eval();
    }
    if ((f.save_every > 0 && r.step % f.save_every == 0) || last || r.step == stop_at) {
      trainer.save_checkpoint((out / "checkpoints" / ("step-" + std::to_string(r.step))).string(),
                              base);
      prune_checkpoints(out, f.keep_checkpoints);
    }
  }
  bar.finish();
  if (trainer.step() < trainer.total_steps()) {
    std::fprintf(stderr, "stopped at step %lld of %lld; continue with --resume\n",
                 static_cast<long long>(trainer.step()),
                 static_cast<long long>(trainer.total_steps()));
    return;
  }
  save_peft_adapter(out.string(), *adapter, base);
  std::fprintf(stderr, "done: %.0f tokens in %.1f s (%.0f tokens/s); adapter written to %s\n",
               tokens, seconds, seconds > 0 ? tokens / seconds : 0.0, out.c_str());
  print_backend_summary(backend);
}

}  // namespace

void register_train_command(CLI::App& app) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "fine-tune a LoRA adapter on a JSONL file");
  cmd->add_option("--model", f->model, "a .gguf file or Hugging Face folder (default: SmolLM2)");
  cmd->add_option("--data", f->data, "training JSONL: text, prompt/completion or messages")
      ->required();
  cmd->add_option("--out", f->out, "output folder: the peft adapter, log and checkpoints")
      ->required();
  cmd->add_option("--mode", f->mode,
                  "linear backend: clear (fp32, or bf16 with --base-precision), quantized "
                  "(integer, in clear) or encrypted (the base model's products on ciphertexts)")
      ->capture_default_str()
      ->check(CLI::IsMember({"clear", "quantized", "encrypted"}));
  add_base_precision_option(cmd, f->base_precision);
  cmd->add_option("--n-bits", f->n_bits, "quantized/encrypted modes: bits per activation/gradient")
      ->capture_default_str()
      ->check(CLI::Range(2, 16));
  cmd->add_option("--lora-r", f->lora_r, "LoRA rank")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  cmd->add_option("--lora-alpha", f->lora_alpha, "LoRA alpha (scale alpha/r)")
      ->capture_default_str();
  cmd->add_option("--lora-dropout", f->lora_dropout, "dropout on the LoRA input")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 0.99f));
  cmd->add_option("--lora-targets", f->targets,
                  "comma-separated: q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj "
                  "or all")
      ->capture_default_str();
  cmd->add_flag("--use-rslora", f->use_rslora, "scale alpha/sqrt(r) (rank-stabilized LoRA)");
  cmd->add_option("--init-adapter", f->init_adapter,
                  "start from this peft adapter (its r, alpha and targets apply)");
  cmd->add_option("--lr", f->opts.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--weight-decay", f->opts.weight_decay, "AdamW decoupled weight decay")
      ->capture_default_str();
  cmd->add_option("--scheduler", f->opts.scheduler, "constant, linear or cosine")
      ->capture_default_str();
  cmd->add_option("--warmup-steps", f->opts.warmup_steps, "linear warm-up steps")
      ->capture_default_str();
  cmd->add_option("--epochs", f->opts.epochs, "passes over the data")->capture_default_str();
  cmd->add_option("--max-steps", f->opts.max_steps, "optimizer steps (overrides --epochs)");
  cmd->add_option("--batch-size", f->opts.batch_size, "sequences per micro-batch")
      ->capture_default_str();
  cmd->add_option("--seq-len", f->opts.seq_len,
                  "tokens per sequence, longer ones truncated (default 512, or the model's "
                  "context if shorter)")
      ->each([f](const std::string&) { f->seq_len_given = true; });
  cmd->add_option("--grad-accum", f->opts.grad_accum, "micro-batches per optimizer step")
      ->capture_default_str();
  cmd->add_option("--max-grad-norm", f->opts.max_grad_norm, "clip the gradient norm (0 = off)")
      ->capture_default_str();
  cmd->add_flag("--pack", f->opts.pack, "pack several examples into each sequence");
  cmd->add_option("--skip-backprop-layers", f->skip_backprop_layers,
                  "no adapters and no backward through the first K layers")
      ->capture_default_str();
  cmd->add_option("--eval-data", f->eval_data, "held-out JSONL evaluated during training");
  cmd->add_option("--eval-every", f->eval_every, "evaluate every N steps (0 = start and end)")
      ->capture_default_str();
  cmd->add_option("--save-every", f->save_every, "checkpoint every N steps (and at the end)")
      ->capture_default_str();
  cmd->add_option("--seed", f->opts.seed, "seed for adapter init, shuffling and dropout")
      ->capture_default_str();
  cmd->add_flag("--resume", f->resume, "continue from the newest checkpoint in --out");
  cmd->add_option("--stop-after", f->stop_after,
                  "checkpoint and stop after this many steps; --resume continues the same run");
  cmd->callback([f] { run_train(*f); });
}

}  // namespace cipherlora
