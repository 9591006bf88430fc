// Hyper-parameters of a Llama-family decoder, read from the checkpoint (GGUF metadata or a Hugging
// Face config.json) — never hard-coded.
//
//   LlamaConfig c = ...;           // filled by load_checkpoint()
//   int64_t q_width = c.q_dim();   // n_heads * head_dim
#pragma once

#include <cstdint>
#include <string>

namespace cipherlora {

struct LlamaConfig {
  std::string name;  // human-readable model name, for `info`
  int64_t vocab_size = 0;
  int64_t dim = 0;  // hidden size D
  int64_t n_layers = 0;
  int64_t n_heads = 0;     // query heads
  int64_t n_kv_heads = 0;  // key/value heads (grouped-query attention when < n_heads)
  int64_t head_dim = 0;
  int64_t ffn_dim = 0;  // SwiGLU intermediate size F
  float rms_eps = 1e-5f;
  double rope_theta = 10000.0;
  int64_t max_positions = 2048;
  bool tied_embeddings = true;
  int32_t bos_id = -1, eos_id = -1, pad_id = -1;

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }

  // Checks the numbers are usable (positive, heads divide evenly); throws Error otherwise.
  void validate() const;
};

}  // namespace cipherlora
