// `cipherlora info --model M`: what a checkpoint holds.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "model/model_session.h"

namespace cipherlora {
namespace {

int64_t parameter_count(const LlamaConfig& c) {
  const int64_t per_layer =
      2 * c.dim + c.dim * c.q_dim() * 2 + 2 * c.dim * c.kv_dim() + 3 * c.dim * c.ffn_dim;
  return c.vocab_size * c.dim * (c.tied_embeddings ? 1 : 2) + c.n_layers * per_layer + c.dim;
}

}  // namespace

void register_info_command(CLI::App& app) {
  struct Opts {
    std::string model;
    bool json = false;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("info", "architecture, sizes, parameter count, tensor types");
  cmd->add_option("--model", opts->model, "a .gguf file or Hugging Face folder (default: SmolLM2)");
  cmd->add_flag("--json", opts->json, "print one JSON object");
  cmd->callback([opts] {
    ModelSession s = open_model_session(opts->model, "", /*with_model=*/false);
    const LlamaConfig& c = s.config;
    nlohmann::json types = s.info.tensor_types;
    if (opts->json) {
      nlohmann::json j = {{"path", s.info.path},
                          {"format", s.info.format},
                          {"name", c.name},
                          {"architecture", "llama"},
                          {"vocab_size", c.vocab_size},
                          {"hidden_size", c.dim},
                          {"layers", c.n_layers},
                          {"heads", c.n_heads},
                          {"kv_heads", c.n_kv_heads},
                          {"head_dim", c.head_dim},
                          {"intermediate_size", c.ffn_dim},
                          {"rms_eps", c.rms_eps},
                          {"rope_theta", c.rope_theta},
                          {"context_length", c.max_positions},
                          {"tied_embeddings", c.tied_embeddings},
                          {"parameters", parameter_count(c)},
                          {"tensor_types", types}};
      std::printf("%s\n", j.dump().c_str());
      return;
    }
    std::printf("model          %s\n", s.info.path.c_str());
    std::printf("format         %s\n", s.info.format.c_str());
    std::printf("name           %s\n", c.name.c_str());
    std::printf("architecture   llama (RMSNorm, RoPE theta %.0f, %s attention, SwiGLU)\n",
                c.rope_theta, c.n_kv_heads < c.n_heads ? "grouped-query" : "multi-head");
    std::printf("layers         %lld\n", static_cast<long long>(c.n_layers));
    std::printf("hidden size    %lld\n", static_cast<long long>(c.dim));
    std::printf("heads          %lld query, %lld key/value, head dim %lld\n",
                static_cast<long long>(c.n_heads), static_cast<long long>(c.n_kv_heads),
                static_cast<long long>(c.head_dim));
    std::printf("mlp size       %lld\n", static_cast<long long>(c.ffn_dim));
    std::printf("vocabulary     %lld\n", static_cast<long long>(c.vocab_size));
    std::printf("context        %lld\n", static_cast<long long>(c.max_positions));
    std::printf("lm head        %s\n", c.tied_embeddings ? "tied to embeddings" : "separate");
    std::printf("parameters     %lld (%.1f M)\n", static_cast<long long>(parameter_count(c)),
                parameter_count(c) / 1e6);
    std::printf("tensor types  ");
    for (const auto& [type, n] : s.info.tensor_types)
      std::printf(" %s x%lld", type.c_str(), static_cast<long long>(n));
    std::printf("\n");
  });
}

}  // namespace cipherlora
