#include "model/llama_config.h"

#include "common/error.h"

namespace cipherlora {

void LlamaConfig::validate() const {
  auto positive = [](int64_t v, const char* what) {
    require(v > 0,
            std::string("model config: ") + what + " must be positive, got " + std::to_string(v));
  };
  positive(vocab_size, "vocab_size");
  positive(dim, "hidden size");
  positive(n_layers, "layer count");
  positive(n_heads, "head count");
  positive(n_kv_heads, "kv head count");
  positive(head_dim, "head_dim");
  positive(ffn_dim, "intermediate size");
  positive(max_positions, "context length");
  require(n_heads % n_kv_heads == 0, "model config: " + std::to_string(n_heads) +
                                         " heads are not a multiple of " +
                                         std::to_string(n_kv_heads) + " kv heads");
  require(head_dim % 2 == 0, "model config: head_dim must be even for RoPE");
  require(rms_eps > 0 && rope_theta > 0, "model config: rms eps and rope theta must be positive");
}

}  // namespace cipherlora
