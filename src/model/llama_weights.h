// The fp32 weights of a Llama-family model, in Hugging Face's layout ([out, in] row-major linears,
// rotate-half RoPE order for q/k rows), plus the tokenizer description that came with them.
//
//   Checkpoint ck = load_checkpoint("model.gguf");     // or a Hugging Face folder
//   LlamaModel model(std::move(ck.weights), clear_backend_factory());
//   BpeTokenizer tok(std::move(ck.tokenizer));
#pragma once

#include <map>
#include <string>
#include <vector>

#include "model/llama_config.h"
#include "tokenizer/tokenizer_spec.h"

namespace cipherlora {

struct LlamaLayerWeights {
  std::vector<float> attn_norm;  // [D]
  std::vector<float> wq;         // [Hq*hd, D]
  std::vector<float> wk;         // [Hkv*hd, D]
  std::vector<float> wv;         // [Hkv*hd, D]
  std::vector<float> wo;         // [D, Hq*hd]
  std::vector<float> ffn_norm;   // [D]
  std::vector<float> w_gate;     // [F, D]
  std::vector<float> w_up;       // [F, D]
  std::vector<float> w_down;     // [D, F]
};

struct LlamaWeights {
  LlamaConfig config;
  std::vector<float> tok_embeddings;  // [V, D]
  std::vector<LlamaLayerWeights> layers;
  std::vector<float> final_norm;  // [D]
  std::vector<float> lm_head;     // [V, D]; empty when tied to tok_embeddings
};

// What `info` reports about the file a model came from.
struct CheckpointInfo {
  std::string path;
  std::string format;                           // "gguf" or "huggingface"
  std::map<std::string, int64_t> tensor_types;  // type name -> tensor count
  int64_t file_parameters = 0;                  // elements over all tensors in the file
};

struct Checkpoint {
  LlamaWeights weights;
  TokenizerSpec tokenizer;  // includes the chat template, when the checkpoint has one
  CheckpointInfo info;
};

// Loads a `.gguf` file or a Hugging Face folder (config.json + safetensors). Throws Error for a
// missing/corrupt file, a non-Llama architecture or a tensor of the wrong shape. With
// with_weights=false only the config, tokenizer and tensor shapes are read (fast: for `info` and
// `tokenize`), and the weight vectors stay empty.
Checkpoint load_checkpoint(const std::string& path, bool with_weights = true);

}  // namespace cipherlora
