// A tiny random Llama for engine tests: small enough for finite differences, with every feature
// of the real thing (grouped-query attention, untied or tied head, LoRA on all projections).
#pragma once

#include <random>

#include "linear/clear_backend.h"
#include "model/llama_model.h"
#include "model/lora.h"

namespace cipherlora::testing {

inline LlamaConfig tiny_config(bool tied = false) {
  LlamaConfig c;
  c.name = "tiny";
  c.vocab_size = 37;
  c.dim = 16;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 4;
  c.ffn_dim = 24;
  c.rms_eps = 1e-5f;
  c.rope_theta = 10000.0;
  c.max_positions = 32;
  c.tied_embeddings = tied;
  return c;
}

inline std::vector<float> random_vector(size_t n, float scale, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

inline LlamaWeights tiny_weights(const LlamaConfig& c, uint32_t seed) {
  std::mt19937 rng(seed);
  LlamaWeights w;
  w.config = c;
  const int64_t D = c.dim, Q = c.q_dim(), KV = c.kv_dim(), F = c.ffn_dim;
  w.tok_embeddings = random_vector(c.vocab_size * D, 1.0f, rng);
  for (int64_t l = 0; l < c.n_layers; ++l) {
    LlamaLayerWeights L;
    L.attn_norm = random_vector(D, 0.1f, rng);
    for (float& x : L.attn_norm) x += 1.0f;
    L.ffn_norm = random_vector(D, 0.1f, rng);
    for (float& x : L.ffn_norm) x += 1.0f;
    L.wq = random_vector(Q * D, 0.3f, rng);
    L.wk = random_vector(KV * D, 0.3f, rng);
    L.wv = random_vector(KV * D, 0.3f, rng);
    L.wo = random_vector(D * Q, 0.3f, rng);
    L.w_gate = random_vector(F * D, 0.3f, rng);
    L.w_up = random_vector(F * D, 0.3f, rng);
    L.w_down = random_vector(D * F, 0.3f, rng);
    w.layers.push_back(std::move(L));
  }
  w.final_norm = random_vector(D, 0.1f, rng);
  for (float& x : w.final_norm) x += 1.0f;
  if (!c.tied_embeddings) w.lm_head = random_vector(c.vocab_size * D, 0.3f, rng);
  return w;
}

// An adapter with peft's initialisation for A and a random non-zero B [out, r] ~ N(0, b_scale²),
// so that it changes the model's output and gradients reach A.
inline LoraAdapter random_adapter(const LlamaConfig& c, const LoraConfig& lc, uint32_t seed,
                                  float b_scale) {
  LoraAdapter a(c, lc);
  a.init_peft_default(seed);
  std::mt19937 rng(seed + 1);
  for (int64_t l = lc.first_layer; l < c.n_layers; ++l)
    for (Proj p : lc.targets) a.at(l, p).B = random_vector(a.at(l, p).B.size(), b_scale, rng);
  return a;
}

// Two right-padded rows with some ignored targets.
inline TokenBatch tiny_batch(const LlamaConfig& c, int64_t T = 7) {
  TokenBatch b;
  b.B = 2;
  b.T = T;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(c.vocab_size - 1));
  for (int64_t i = 0; i < b.B * T; ++i) b.tokens.push_back(tok(rng));
  b.targets.assign(b.B * T, kIgnoreTarget);
  for (int64_t t = 0; t + 1 < T; ++t) b.targets[t] = b.tokens[t + 1];              // row 0: all
  for (int64_t t = 2; t + 1 < T - 2; ++t) b.targets[T + t] = b.tokens[T + t + 1];  // row 1: middle
  return b;
}

}  // namespace cipherlora::testing
