#include "model/lora.h"

#include <cmath>
#include <random>
#include <sstream>

#include "common/error.h"

namespace cipherlora {

const char* proj_name(Proj p) {
  static const char* names[kNumProj] = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                        "gate_proj", "up_proj", "down_proj"};
  return names[static_cast<int>(p)];
}

bool proj_is_attention(Proj p) {
  return static_cast<int>(p) <= static_cast<int>(Proj::o);
}

std::vector<Proj> parse_lora_targets(const std::string& list) {
  std::vector<Proj> out;
  if (list == "all" || list == "all-linear") {
    for (int i = 0; i < kNumProj; ++i) out.push_back(static_cast<Proj>(i));
    return out;
  }
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    bool found = false;
    for (int i = 0; i < kNumProj; ++i) {
      if (item == proj_name(static_cast<Proj>(i))) {
        Proj p = static_cast<Proj>(i);
        bool dup = false;
        for (Proj q : out) dup |= q == p;
        if (!dup) out.push_back(p);
        found = true;
      }
    }
    require(found, "unknown LoRA target '" + item +
                       "' (expected q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj)");
  }
  require(!out.empty(), "no LoRA targets given");
  return out;
}

std::pair<int64_t, int64_t> proj_shape(const LlamaConfig& c, Proj p) {
  switch (p) {
    case Proj::q:
      return {c.q_dim(), c.dim};
    case Proj::k:
    case Proj::v:
      return {c.kv_dim(), c.dim};
    case Proj::o:
      return {c.dim, c.q_dim()};
    case Proj::gate:
    case Proj::up:
      return {c.ffn_dim, c.dim};
    case Proj::down:
      return {c.dim, c.ffn_dim};
  }
  return {0, 0};
}

float LoraConfig::scale() const {
  return use_rslora ? alpha / std::sqrt(static_cast<float>(r)) : alpha / static_cast<float>(r);
}

void LoraConfig::validate() const {
  require(r > 0, "LoRA rank must be positive, got " + std::to_string(r));
  require(dropout >= 0.0f && dropout < 1.0f, "LoRA dropout must be in [0, 1)");
  require(!targets.empty(), "no LoRA targets given");
  require(first_layer >= 0, "first adapter layer must be >= 0");
}

LoraAdapter::LoraAdapter(const LlamaConfig& model, LoraConfig cfg) : cfg_(std::move(cfg)) {
  cfg_.validate();
  layers_.resize(model.n_layers);
  for (int64_t l = cfg_.first_layer; l < model.n_layers; ++l) {
    for (Proj p : cfg_.targets) {
      auto [out, in] = proj_shape(model, p);
      LoraPair& pair = at(l, p);
      pair.in = in;
      pair.out = out;
      pair.A.assign(cfg_.r * in, 0.0f);
      pair.B.assign(out * cfg_.r, 0.0f);
      pair.dA.assign(cfg_.r * in, 0.0f);
      pair.dB.assign(out * cfg_.r, 0.0f);
    }
  }
}

void LoraAdapter::init_peft_default(uint64_t seed) {
  // Kaiming-uniform with a = √5 on A [r, in] has bound = gain·√(3/fan_in) with
  // gain = √(2/(1+a²)) = √(1/3), i.e. bound = 1/√in. B starts at zero so the adapter is a no-op.
  std::mt19937_64 rng(seed);
  for (auto& layer : layers_) {
    for (LoraPair& pair : layer) {
      if (!pair.active()) continue;
      const float bound = 1.0f / std::sqrt(static_cast<float>(pair.in));
      std::uniform_real_distribution<float> u(-bound, bound);
      for (float& a : pair.A) a = u(rng);
      std::fill(pair.B.begin(), pair.B.end(), 0.0f);
    }
  }
}

void LoraAdapter::zero_grad() {
  for (auto& layer : layers_)
    for (LoraPair& pair : layer) {
      std::fill(pair.dA.begin(), pair.dA.end(), 0.0f);
      std::fill(pair.dB.begin(), pair.dB.end(), 0.0f);
    }
}

int64_t LoraAdapter::trainable_parameters() const {
  int64_t n = 0;
  for (const auto& layer : layers_)
    for (const LoraPair& pair : layer) n += static_cast<int64_t>(pair.A.size() + pair.B.size());
  return n;
}

}  // namespace cipherlora
