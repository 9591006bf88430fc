// `cipherlora eval --model M [--adapter DIR] --data FILE.jsonl`: mean loss and perplexity.
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/backend_choice.h"
#include "cli/base_precision.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "common/error.h"
#include "data/jsonl_dataset.h"
#include "linear/clear_backend.h"
#include "model/model_session.h"

namespace cipherlora {

void register_eval_command(CLI::App& app) {
  struct Opts {
    std::string model, adapter, data, mode = "clear", base_precision = "fp32";
    int n_bits = 8;
    int64_t seq_len = 0, batch_size = 8;  // seq_len 0: the model's context, at most 2048
    bool json = false;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("eval", "mean loss and perplexity over a JSONL file");
  cmd->add_option("--model", opts->model, "a .gguf file or Hugging Face folder (default: SmolLM2)");
  cmd->add_option("--adapter", opts->adapter, "a PEFT LoRA adapter folder");
  cmd->add_option("--data", opts->data, "JSONL: text, prompt/completion or messages")->required();
  cmd->add_option("--seq-len", opts->seq_len,
                  "truncate examples to this many tokens (default: the model's context, at most "
                  "2048)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 20));
  cmd->add_option("--batch-size", opts->batch_size, "examples per forward pass")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{4096}));
  add_base_precision_option(cmd, opts->base_precision);
  cmd->add_flag("--json", opts->json, "print one JSON object with per-example losses");
  cmd->add_option("--mode", opts->mode, "linear backend: clear, quantized or encrypted")
      ->capture_default_str()
      ->check(CLI::IsMember({"clear", "quantized", "encrypted"}));
  cmd->add_option("--n-bits", opts->n_bits, "quantized/encrypted modes: bits per activation")
      ->capture_default_str();
  cmd->callback([opts] {
    require(opts->mode == "clear" || opts->base_precision == "fp32",
            "--base-precision " + opts->base_precision +
                " applies to --mode clear only, not --mode " + opts->mode);
    const Precision precision = base_precision(opts->base_precision);
    const BackendChoice backend = choose_backend(opts->mode, opts->n_bits, precision);
    ModelSession s = open_model_session(opts->model, opts->adapter, true, backend.factory);
    s.model->set_head_precision(precision);
    if (opts->seq_len == 0) opts->seq_len = std::min<int64_t>(2048, s.config.max_positions);
    require(opts->seq_len <= s.config.max_positions, "--seq-len " + std::to_string(opts->seq_len) +
                                                         " exceeds the model's context of " +
                                                         std::to_string(s.config.max_positions));
    DatasetOptions dopt;
    dopt.default_system = s.default_system;
    const std::vector<Example> data = load_jsonl(opts->data, *s.tokenizer, dopt);
    const int32_t pad = s.tokenizer->pad_id() >= 0 ? s.tokenizer->pad_id() : 0;

    nlohmann::json examples = nlohmann::json::array();
    double total = 0.0;
    int64_t total_tokens = 0;
    Progress bar("eval", static_cast<int64_t>(data.size()));
    std::vector<double> per_pos;
    for (size_t i0 = 0; i0 < data.size(); i0 += opts->batch_size) {
      std::vector<const Example*> group;
      for (size_t i = i0; i < data.size() && group.size() < size_t(opts->batch_size); ++i)
        group.push_back(&data[i]);
      TokenBatch batch = make_batch(group, opts->seq_len, pad);
      total += s.model->forward_loss(batch, &per_pos);
      for (int64_t b = 0; b < batch.B; ++b) {
        double sum = 0.0;
        int64_t n = 0;
        for (int64_t t = 0; t < batch.T; ++t)
          if (batch.targets[b * batch.T + t] != kIgnoreTarget) sum += per_pos[b * batch.T + t], ++n;
        total_tokens += n;
        // An example truncated before its first target has no loss: null in JSON.
        examples.push_back(
            {{"loss", n > 0 ? nlohmann::json(sum / n) : nlohmann::json(nullptr)}, {"tokens", n}});
      }
      bar.update(static_cast<int64_t>(i0 + group.size()),
                 "loss " + std::to_string(total / std::max<int64_t>(total_tokens, 1)));
    }
    bar.finish();
    require(total_tokens > 0,
            "no target tokens left after truncation to --seq-len " + std::to_string(opts->seq_len));
    const double loss = total / static_cast<double>(total_tokens);
    if (opts->json) {
      nlohmann::json j = {{"loss", loss},
                          {"perplexity", std::exp(loss)},
                          {"tokens", total_tokens},
                          {"examples", examples}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("loss %.6f  perplexity %.4f  over %lld target tokens in %zu examples\n", loss,
                  std::exp(loss), static_cast<long long>(total_tokens), data.size());
      print_backend_summary(backend);
    }
  });
}

}  // namespace cipherlora
