// The Llama-family decoder: forward and backward over [B, T] token batches with causal attention,
// LoRA adapters on any set of projections, and the mean cross-entropy loss as Hugging Face computes
// it. Every frozen base linear goes through a LinearBackend (fused q|k|v and gate|up), so the same
// engine trains in clear, quantized or encrypted mode. The LM head runs locally, in fp32 unless
// set_head_precision() picks bf16.
//
//   Checkpoint ck = load_checkpoint(path);
//   LlamaModel model(std::move(ck.weights), clear_backend_factory());
//   LoraAdapter lora(model.config(), lora_cfg);
//   model.set_adapter(&lora);
//   TokenBatch batch = ...;                                  // tokens + next-token targets
//   double loss_sum = model.forward_backward(batch, 1.0f / batch.n_targets());
//   // lora.at(l, Proj::q).dA / dB now hold d(mean loss)/dA, dB
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "linear/linear_backend.h"
#include "linear/precision.h"
#include "model/llama_weights.h"
#include "model/lora.h"
#include "tensor/rope.h"

namespace cipherlora {

// Targets use -100 for "no loss here" (padding, prompt tokens), as Hugging Face labels do.
constexpr int32_t kIgnoreTarget = -100;

struct TokenBatch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;  // [B, T] token ids; rows are right-padded
  std::vector<int32_t>
      targets;  // [B, T] the id position t must predict (i.e. tokens[t+1]), or -100
  int64_t n_targets() const;
};

class LlamaModel {
 public:
  LlamaModel(LlamaWeights weights, const LinearBackendFactory& factory);
  ~LlamaModel();
  LlamaModel(const LlamaModel&) = delete;
  LlamaModel& operator=(const LlamaModel&) = delete;

  const LlamaConfig& config() const { return cfg_; }

  // The adapter applied by every call (not owned; nullptr = base model only).
  void set_adapter(LoraAdapter* adapter) { lora_ = adapter; }
  LoraAdapter* adapter() const { return lora_; }

  // LoRA dropout masks derive from (seed, stream, layer, projection). The trainer passes a new
  // stream for every micro-batch, so masks are fresh per step yet reproducible on resume.
  void set_dropout(uint64_t seed, uint64_t stream) {
    dropout_seed_ = seed, dropout_stream_ = stream;
  }

  // Arithmetic of the LM head's products (logits, and their input gradient in training): fp32,
  // the default and reference, or bf16 with the head weight rounded once to a bf16 copy (the
  // `--base-precision bf16` of the CLI, together with clear_backend_factory(Precision::bf16)).
  void set_head_precision(Precision p);
  Precision head_precision() const { return head_bf16_ ? Precision::bf16 : Precision::fp32; }

  // Backward stops below this layer: layers [0, k) get no backward pass (and should carry no
  // adapter), which saves their share of the backward compute. 0 = backprop through every layer.
  void set_first_backprop_layer(int64_t k) { first_backprop_layer_ = k; }

  // Forward + backward of loss_scale · Σ cross-entropy over all targets (pass 1/n_targets for the
  // mean). Accumulates adapter gradients (dA, dB); returns the unscaled loss sum. Dropout applies.
  double forward_backward(const TokenBatch& batch, float loss_scale);

  // Forward only (no dropout). Returns the loss sum; fills per_position_loss [B*T] (0 where the
  // target is ignored) when non-null.
  double forward_loss(const TokenBatch& batch, std::vector<double>* per_position_loss);

  // After forward_backward: d(loss_scale·loss)/d(input of the first backprop layer) [B*T, D]
  // (the embedding output when every layer backpropagates). For tests.
  const std::vector<float>& input_grad() const { return input_grad_; }

  // Logits of every position [B*T, V] (forward only). For tests and small inputs.
  std::vector<float> logits(const TokenBatch& batch);

  // Incremental decoding for generation: keeps keys/values of the positions seen so far.
  struct KvCache {
    int64_t len = 0, capacity = 0;
    std::vector<std::vector<float>> k, v;  // per layer [capacity, Hkv*hd]
    // Work buffers of decode(), kept here so generating a token allocates nothing.
    std::vector<float> x, xn, qkv, q, attn, tmp, gate_up, h, inv_rms, lora_u;
    std::vector<int32_t> pos;
  };
  KvCache make_kv_cache(int64_t capacity) const;
  // Runs n new tokens (positions cache.len .. cache.len+n-1) and writes the logits of the last
  // one to last_logits [V].
  void decode(const int32_t* tokens, int64_t n, KvCache& cache, float* last_logits);

 private:
  struct Layer;
  struct Activations;
  struct LoraSaved;

  void check_batch(const TokenBatch& batch) const;
  void prepare(int64_t B, int64_t T, bool training);
  void forward_layers(const TokenBatch& batch, bool training);
  void layer_forward(int64_t l, Activations& a, const float* x_in, float* x_out, bool training);
  void layer_backward(int64_t l, float* dres);
  double head(const TokenBatch& batch, bool backward, float loss_scale,
              std::vector<double>* per_position_loss);
  void lora_fwd(int64_t l, Proj p, const float* x, float* y, int64_t ldy, bool training);
  void lora_bwd(int64_t l, Proj p, const float* x, const float* dy, int64_t ldy, float* dx);
  const float* head_weight() const;
  void head_forward(const float* x, int64_t n, float* logits);     // [n, D] -> [n, V]
  void head_backward(const float* dlogits, int64_t n, float* dx);  // [n, V] -> [n, D]

  LlamaConfig cfg_;
  std::vector<float> tok_emb_;                // [V, D]
  std::vector<float> final_norm_;             // [D]
  std::vector<float> lm_head_;                // [V, D], empty when tied
  std::unique_ptr<LinearBackend> head_bf16_;  // bf16 copy of the head weight; null in fp32
  std::vector<Layer> layers_;
  RopeTable rope_;
  LoraAdapter* lora_ = nullptr;
  uint64_t dropout_seed_ = 0;
  uint64_t dropout_stream_ = 0;
  int64_t first_backprop_layer_ = 0;

  // Buffers, sized for the largest batch seen; reused across calls (no allocation per step).
  int64_t B_ = 0, T_ = 0;
  std::vector<int32_t> positions_;                     // [N]
  std::vector<Activations> acts_;                      // per layer
  std::vector<std::vector<LoraSaved>> lora_saved_;     // [layer][proj]
  std::vector<float> x_final_, xf_, inv_rms_f_, dxf_;  // [N, D], [N, D], [N], [N, D]
  std::vector<float> qkv_, tmp_, dqkv_, dq_, dk_, dv_, dattn_, dgu_, dh_, dxn_;
  std::vector<float> lora_du_, lora_tmp_;
  std::vector<float> head_x_, head_logits_, head_dx_;
  std::vector<float> input_grad_;
};

}  // namespace cipherlora
