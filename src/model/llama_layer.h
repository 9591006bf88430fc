// Private parts of LlamaModel shared by its source files (llama_model.cc, llama_decode.cc): the
// per-layer backends and what forward keeps for backward. Not part of the public API.
#pragma once

#include <memory>
#include <vector>

#include "model/llama_model.h"

namespace cipherlora {

struct LlamaModel::Layer {
  std::vector<float> attn_norm, ffn_norm;  // [D]
  std::unique_ptr<LinearBackend> qkv;      // [Q+2KV, D]  q | k | v rows
  std::unique_ptr<LinearBackend> o;        // [D, Q]
  std::unique_ptr<LinearBackend> gate_up;  // [2F, D]     gate | up rows
  std::unique_ptr<LinearBackend> down;     // [D, F]
};

// What one layer keeps from forward for backward. N = B*T.
struct LlamaModel::Activations {
  std::vector<float> x_in;      // [N, D]  residual stream entering the layer
  std::vector<float> inv_rms1;  // [N]
  std::vector<float> xn1;       // [N, D]  input of q|k|v
  std::vector<float> q, k, v;   // [N, Q], [N, KV], [N, KV]  (q, k after RoPE)
  std::vector<float> attn;      // [N, Q]  attention output, input of o
  std::vector<float> lse;       // [B, Hq, T]
  std::vector<float> x_mid;     // [N, D]  residual stream after attention
  std::vector<float> inv_rms2;  // [N]
  std::vector<float> xn2;       // [N, D]  input of gate|up
  std::vector<float> gate_up;   // [N, 2F]
  std::vector<float> h;         // [N, F]  SwiGLU output, input of down
};

struct LlamaModel::LoraSaved {
  std::vector<float> u;       // [N, r]   xd·Aᵀ
  std::vector<float> xd;      // [N, in]  dropped-out input (only with dropout)
  std::vector<uint8_t> keep;  // [N, in]  dropout mask (only with dropout)
  bool dropped = false;
};

}  // namespace cipherlora
