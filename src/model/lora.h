// LoRA adapters on the frozen linears of a Llama model: for a targeted projection with weight
// W [out, in], the layer computes y = x·Wᵀ + s · (dropout(x)·Aᵀ)·Bᵀ with A [r, in], B [out, r] and
// s = alpha / r (alpha / √r with rsLoRA) — exactly as Hugging Face peft defines it. Only A and B
// train; this file holds their values and gradients.
//
//   LoraConfig cfg;  cfg.r = 8;  cfg.alpha = 16;  cfg.targets =
//   parse_lora_targets("q_proj,v_proj"); LoraAdapter lora(model.config(), cfg);
//   lora.init_peft_default(seed);            // A Kaiming-uniform, B zero
//   model.set_adapter(&lora);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "model/llama_config.h"

namespace cipherlora {

// The seven Llama projections LoRA can target, in PEFT's module names.
enum class Proj : int { q = 0, k, v, o, gate, up, down };
constexpr int kNumProj = 7;
const char* proj_name(Proj p);   // "q_proj", ..., "down_proj"
bool proj_is_attention(Proj p);  // q,k,v,o live under self_attn, the rest under mlp
// Parses a comma-separated list ("q_proj,v_proj" or "all"); throws Error on an unknown name.
std::vector<Proj> parse_lora_targets(const std::string& list);
// [out, in] of projection p in a model of config c.
std::pair<int64_t, int64_t> proj_shape(const LlamaConfig& c, Proj p);

struct LoraConfig {
  int64_t r = 8;
  float alpha = 16.0f;
  float dropout = 0.0f;
  bool use_rslora = false;
  std::vector<Proj> targets;
  int64_t first_layer = 0;  // layers below this one carry no adapter

  float scale() const;  // alpha / r, or alpha / sqrt(r) with rsLoRA
  void validate() const;
};

struct LoraPair {
  std::vector<float> A;   // [r, in]
  std::vector<float> B;   // [out, r]
  std::vector<float> dA;  // [r, in]  gradient, accumulated by backward
  std::vector<float> dB;  // [out, r]
  int64_t in = 0, out = 0;
  bool active() const { return !A.empty(); }
};

class LoraAdapter {
 public:
  LoraAdapter(const LlamaConfig& model, LoraConfig cfg);

  const LoraConfig& config() const { return cfg_; }
  int64_t n_layers() const { return static_cast<int64_t>(layers_.size()); }
  LoraPair& at(int64_t layer, Proj p) { return layers_[layer][static_cast<int>(p)]; }
  const LoraPair& at(int64_t layer, Proj p) const { return layers_[layer][static_cast<int>(p)]; }

  // peft's default initialisation: A ~ Kaiming-uniform(a=√5) i.e. U(-1/√in, 1/√in), B = 0.
  void init_peft_default(uint64_t seed);
  void zero_grad();
  int64_t trainable_parameters() const;

 private:
  LoraConfig cfg_;
  std::vector<std::array<LoraPair, kNumProj>> layers_;
};

}  // namespace cipherlora
