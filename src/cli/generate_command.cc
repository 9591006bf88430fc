// `cipherlora generate --prompt TEXT [--chat]`: continue a prompt, greedy at temperature 0.
#include <cmath>
#include <cstdio>
#include <random>

#include "cli/base_precision.h"
#include "cli/commands.h"
#include "common/error.h"
#include "linear/clear_backend.h"
#include "model/model_session.h"
#include "tensor/cross_entropy.h"
#include "tokenizer/chat_template.h"

namespace cipherlora {
namespace {

// Length of the longest prefix of s that ends on a whole UTF-8 character, so streamed output
// never splits a multi-byte character across writes.
size_t complete_utf8_prefix(const std::string& s) {
  size_t i = s.size(), back = 0;
  while (i > 0 && back < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++back;
  if (i == 0) return s.size();
  const unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  const size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return back + 1 >= need ? s.size() : i - 1;
}

}  // namespace

void register_generate_command(CLI::App& app) {
  struct Opts {
    std::string model, adapter, prompt, base_precision = "fp32";
    bool chat = false;
    int64_t max_new_tokens = 128;
    float temperature = 0.0f;
    uint64_t seed = 0;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("generate", "continue a prompt (greedy at temperature 0)");
  cmd->add_option("--model", opts->model, "a .gguf file or Hugging Face folder (default: SmolLM2)");
  cmd->add_option("--adapter", opts->adapter, "a PEFT LoRA adapter folder");
  cmd->add_option("--prompt", opts->prompt, "the prompt text")->required();
  cmd->add_flag("--chat", opts->chat, "wrap the prompt as a user turn in the chat template");
  cmd->add_option("--max-new-tokens", opts->max_new_tokens, "tokens to generate at most")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--temperature", opts->temperature, "0 = greedy")
      ->capture_default_str()
      ->check(CLI::Range(0.0f, 100.0f));
  cmd->add_option("--seed", opts->seed, "random seed for sampling")->capture_default_str();
  add_base_precision_option(cmd, opts->base_precision);
  cmd->callback([opts] {
    const Precision precision = base_precision(opts->base_precision);
    ModelSession s =
        open_model_session(opts->model, opts->adapter, true, clear_backend_factory(precision));
    s.model->set_head_precision(precision);
    std::string text = opts->prompt;
    if (opts->chat) {
      require(s.has_chat_template, "--chat: the model has no ChatML chat template");
      text =
          render_chatml({{"user", opts->prompt}}, /*add_generation_prompt=*/true, s.default_system)
              .text;
    }
    std::vector<int32_t> ids = s.tokenizer->encode(text);
    require(!ids.empty(), "the prompt is empty");
    const int64_t capacity = std::min<int64_t>(
        s.config.max_positions, static_cast<int64_t>(ids.size()) + opts->max_new_tokens);
    require(static_cast<int64_t>(ids.size()) < capacity,
            "the prompt (" + std::to_string(ids.size()) + " tokens) fills the model's context");
    LlamaModel::KvCache cache = s.model->make_kv_cache(capacity);
    std::vector<float> logits(s.config.vocab_size), scratch(s.config.vocab_size);
    std::mt19937_64 rng(opts->seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    s.model->decode(ids.data(), static_cast<int64_t>(ids.size()), cache, logits.data());
    std::vector<int32_t> out;
    size_t printed = 0;
    while (static_cast<int64_t>(out.size()) < opts->max_new_tokens) {
      const int32_t next = sample_token(logits.data(), s.config.vocab_size, opts->temperature,
                                        uniform(rng), scratch.data());
      // Stop at EOS or any other control token (<|endoftext|>, <|im_start|>, ...).
      if (next == s.config.eos_id || s.tokenizer->is_control(next)) break;
      out.push_back(next);
      const std::string so_far = s.tokenizer->decode(out);
      const size_t ready = complete_utf8_prefix(so_far);
      if (ready > printed) {
        std::fwrite(so_far.data() + printed, 1, ready - printed, stdout);
        std::fflush(stdout);
        printed = ready;
      }
      if (cache.len >= cache.capacity) break;
      s.model->decode(&next, 1, cache, logits.data());
    }
    const std::string all = s.tokenizer->decode(out);
    std::fwrite(all.data() + printed, 1, all.size() - printed, stdout);
    std::printf("\n");
  });
}

}  // namespace cipherlora
