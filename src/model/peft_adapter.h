// Reads and writes LoRA adapters in Hugging Face peft's folder format: adapter_config.json plus
// adapter_model.safetensors with tensors named
//   base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight   [r, in]
//   base_model.model.model.layers.N.mlp.down_proj.lora_B.weight      [out, r]
// so that adapters move freely between cipherlora and the Hugging Face ecosystem.
//
//   LoraAdapter a = load_peft_adapter("runs/clinic/adapter", model.config());
//   save_peft_adapter("out/adapter", a, "HuggingFaceTB/SmolLM2-135M-Instruct");
#pragma once

#include <string>

#include "model/lora.h"

namespace cipherlora {

// The tensor name peft uses for one LoRA factor ("A" or "B").
std::string peft_tensor_name(int64_t layer, Proj p, char factor);

// Loads an adapter folder for a model of config `model`. Throws Error for a missing or corrupt
// file, a non-LoRA adapter, an unsupported option (bias, rank/alpha patterns, DoRA), an unknown
// target, or a tensor whose shape does not fit the model.
LoraAdapter load_peft_adapter(const std::string& dir, const LlamaConfig& model);

// Writes adapter_model.safetensors and adapter_config.json into `dir` (created if needed), each
// file atomically (temporary file + rename), tensors first: an interrupted save leaves either the
// previous adapter or the new one, and other files in `dir` (logs, checkpoints) are untouched.
void save_peft_adapter(const std::string& dir, const LoraAdapter& adapter,
                       const std::string& base_model_name);

}  // namespace cipherlora
