#include "model/llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "common/grow.h"
#include "linear/clear_backend.h"
#include "model/llama_layer.h"
#include "model/lora_linear.h"
#include "tensor/attention.h"
#include "tensor/cross_entropy.h"
#include "tensor/elementwise.h"
#include "tensor/embedding.h"
#include "tensor/gemm.h"
#include "tensor/rmsnorm.h"
#include "tensor/swiglu.h"

namespace cipherlora {

namespace {

std::vector<float> concat_rows(std::initializer_list<const std::vector<float>*> parts) {
  size_t n = 0;
  for (auto* p : parts) n += p->size();
  std::vector<float> out;
  out.reserve(n);
  for (auto* p : parts) out.insert(out.end(), p->begin(), p->end());
  return out;
}

// Copies columns [col, col+width) of src [N, ld] into dst [N, width], or back.
void copy_cols(const float* src, int64_t ld_src, float* dst, int64_t ld_dst, int64_t N,
               int64_t width) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; ++i)
    std::memcpy(dst + i * ld_dst, src + i * ld_src, sizeof(float) * width);
}

constexpr int64_t kHeadChunk = 256;  // rows of logits materialised at once: [256, V]

}  // namespace

int64_t TokenBatch::n_targets() const {
  int64_t n = 0;
  for (int32_t t : targets) n += t != kIgnoreTarget;
  return n;
}

LlamaModel::LlamaModel(LlamaWeights w, const LinearBackendFactory& factory) : cfg_(w.config) {
  cfg_.validate();
  const int64_t D = cfg_.dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim(), F = cfg_.ffn_dim;
  require(static_cast<int64_t>(w.layers.size()) == cfg_.n_layers, "model: layer count mismatch");
  tok_emb_ = std::move(w.tok_embeddings);
  final_norm_ = std::move(w.final_norm);
  lm_head_ = std::move(w.lm_head);
  layers_.resize(cfg_.n_layers);
  for (int64_t l = 0; l < cfg_.n_layers; ++l) {
    LlamaLayerWeights& src = w.layers[l];
    Layer& L = layers_[l];
    const std::string name = "layers." + std::to_string(l) + ".";
    L.attn_norm = std::move(src.attn_norm);
    L.ffn_norm = std::move(src.ffn_norm);
    L.qkv = factory(name + "qkv", concat_rows({&src.wq, &src.wk, &src.wv}), Q + 2 * KV, D);
    src.wq.clear(), src.wk.clear(), src.wv.clear();
    L.o = factory(name + "o", std::move(src.wo), D, Q);
    L.gate_up = factory(name + "gate_up", concat_rows({&src.w_gate, &src.w_up}), 2 * F, D);
    src.w_gate.clear(), src.w_up.clear();
    L.down = factory(name + "down", std::move(src.w_down), D, F);
  }
  rope_ = make_rope_table(cfg_.head_dim, cfg_.max_positions, cfg_.rope_theta);
}

LlamaModel::~LlamaModel() = default;

const float* LlamaModel::head_weight() const {
  return lm_head_.empty() ? tok_emb_.data() : lm_head_.data();
}

void LlamaModel::set_head_precision(Precision p) {
  if (p == head_precision()) return;
  head_bf16_.reset();
  if (p == Precision::bf16) {
    const int64_t V = cfg_.vocab_size, D = cfg_.dim;
    // The bf16 backend keeps only its rounded copy; the fp32 weight stays for the embedding (tied)
    // and for switching back.
    head_bf16_ = make_clear_backend(
        "lm_head", std::vector<float>(head_weight(), head_weight() + V * D), V, D, Precision::bf16);
  }
}

void LlamaModel::head_forward(const float* x, int64_t n, float* logits) {
  const int64_t D = cfg_.dim, V = cfg_.vocab_size;
  // logits [n, V] = x [n, D] · Whᵀ
  if (head_bf16_) return head_bf16_->forward(x, n, logits);
  sgemm(false, true, n, V, D, 1.0f, x, D, head_weight(), D, 0.0f, logits, V);
}

void LlamaModel::head_backward(const float* dlogits, int64_t n, float* dx) {
  const int64_t D = cfg_.dim, V = cfg_.vocab_size;
  // dx [n, D] = dlogits [n, V] · Wh [V, D]
  if (head_bf16_) return head_bf16_->backward(dlogits, n, dx);
  sgemm(false, false, n, D, V, 1.0f, dlogits, V, head_weight(), D, 0.0f, dx, D);
}

void LlamaModel::check_batch(const TokenBatch& b) const {
  require(b.B > 0 && b.T > 0, "batch is empty");
  require(static_cast<int64_t>(b.tokens.size()) == b.B * b.T &&
              static_cast<int64_t>(b.targets.size()) == b.B * b.T,
          "batch: tokens/targets do not hold B*T values");
  require(b.T <= cfg_.max_positions, "batch: sequence length " + std::to_string(b.T) +
                                         " exceeds the model's context of " +
                                         std::to_string(cfg_.max_positions));
  for (int32_t t : b.tokens)
    require(t >= 0 && t < cfg_.vocab_size,
            "batch: token id " + std::to_string(t) + " is outside the vocabulary");
  for (int32_t t : b.targets)
    require(t == kIgnoreTarget || (t >= 0 && t < cfg_.vocab_size),
            "batch: target id " + std::to_string(t) + " is outside the vocabulary");
}

void LlamaModel::prepare(int64_t B, int64_t T, bool training) {
  const int64_t N = B * T, D = cfg_.dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim(), F = cfg_.ffn_dim;
  B_ = B, T_ = T;
  positions_.resize(N);
  for (int64_t i = 0; i < N; ++i) positions_[i] = static_cast<int32_t>(i % T);
  // Inference keeps nothing for backward: every layer reuses the first layer's buffers.
  acts_.resize(training ? cfg_.n_layers : std::max<size_t>(acts_.size(), 1));
  for (size_t i = 0; i < (training ? acts_.size() : 1); ++i) {
    Activations& a = acts_[i];
    grow(a.x_in, N * D), grow(a.inv_rms1, N), grow(a.xn1, N * D);
    grow(a.q, N * Q), grow(a.k, N * KV), grow(a.v, N * KV), grow(a.attn, N * Q);
    grow(a.lse, B * cfg_.n_heads * T);
    grow(a.x_mid, N * D), grow(a.inv_rms2, N), grow(a.xn2, N * D);
    grow(a.gate_up, N * 2 * F), grow(a.h, N * F);
  }
  grow(x_final_, N * D), grow(xf_, N * D), grow(inv_rms_f_, N), grow(dxf_, N * D);
  const int64_t widest = std::max({Q + 2 * KV, 2 * F, D, Q});
  grow(qkv_, N * (Q + 2 * KV)), grow(tmp_, N * widest), grow(dqkv_, N * (Q + 2 * KV));
  grow(dq_, N * Q), grow(dk_, N * KV), grow(dv_, N * KV), grow(dattn_, N * Q);
  grow(dgu_, N * 2 * F), grow(dh_, N * F), grow(dxn_, N * D);
  grow(input_grad_, N * D);
  lora_saved_.resize(cfg_.n_layers);
  for (auto& per_layer : lora_saved_) per_layer.resize(kNumProj);
  if (lora_ != nullptr) {
    const int64_t r = lora_->config().r;
    grow(lora_du_, N * r);
    if (lora_->config().dropout > 0) grow(lora_tmp_, N * std::max(D, std::max(Q, F)));
  }
}

void LlamaModel::lora_fwd(int64_t l, Proj p, const float* x, float* y, int64_t ldy, bool training) {
  if (lora_ == nullptr || l >= lora_->n_layers()) return;
  const LoraPair& pair = lora_->at(l, p);
  if (!pair.active()) return;
  const int64_t N = B_ * T_, r = lora_->config().r;
  LoraSaved& s = lora_saved_[l][static_cast<int>(p)];
  grow(s.u, N * r);
  const float p_drop = lora_->config().dropout;
  s.dropped = training && p_drop > 0.0f;
  const float* xd = x;
  if (s.dropped) {
    grow(s.xd, N * pair.in), grow(s.keep, N * pair.in);
    const uint64_t stream =
        (dropout_stream_ * 4096 + static_cast<uint64_t>(l)) * kNumProj + static_cast<uint64_t>(p);
    dropout_forward(x, N * pair.in, p_drop, dropout_seed_, stream, s.keep.data(), s.xd.data());
    xd = s.xd.data();
  }
  lora_forward(pair, lora_->config().scale(), xd, N, s.u.data(), y, ldy);
}

void LlamaModel::lora_bwd(int64_t l, Proj p, const float* x, const float* dy, int64_t ldy,
                          float* dx) {
  if (lora_ == nullptr || l >= lora_->n_layers()) return;
  LoraPair& pair = lora_->at(l, p);
  if (!pair.active()) return;
  const int64_t N = B_ * T_;
  LoraSaved& s = lora_saved_[l][static_cast<int>(p)];
  const float keep_scale = 1.0f / (1.0f - lora_->config().dropout);
  lora_backward(pair, lora_->config().scale(), s.dropped ? s.xd.data() : x, s.u.data(), dy, ldy, N,
                lora_du_.data(), dx, s.dropped ? s.keep.data() : nullptr, keep_scale,
                lora_tmp_.data());
}

void LlamaModel::layer_forward(int64_t l, Activations& a, const float* x_in, float* x_out,
                               bool training) {
  Layer& L = layers_[l];
  const int64_t N = B_ * T_, D = cfg_.dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim(), F = cfg_.ffn_dim;
  const int64_t W = Q + 2 * KV;
  if (x_in != a.x_in.data()) std::memcpy(a.x_in.data(), x_in, sizeof(float) * N * D);

  rmsnorm_forward(a.x_in.data(), L.attn_norm.data(), a.xn1.data(), a.inv_rms1.data(), N, D,
                  cfg_.rms_eps);
  L.qkv->forward(a.xn1.data(), N, qkv_.data());  // [N, Q | KV | KV]
  lora_fwd(l, Proj::q, a.xn1.data(), qkv_.data(), W, training);
  lora_fwd(l, Proj::k, a.xn1.data(), qkv_.data() + Q, W, training);
  lora_fwd(l, Proj::v, a.xn1.data(), qkv_.data() + Q + KV, W, training);
  copy_cols(qkv_.data(), W, a.q.data(), Q, N, Q);
  copy_cols(qkv_.data() + Q, W, a.k.data(), KV, N, KV);
  copy_cols(qkv_.data() + Q + KV, W, a.v.data(), KV, N, KV);
  rope_forward(a.q.data(), positions_.data(), N, cfg_.n_heads, rope_);
  rope_forward(a.k.data(), positions_.data(), N, cfg_.n_kv_heads, rope_);
  attention_forward(a.q.data(), a.k.data(), a.v.data(), a.attn.data(), a.lse.data(), B_, T_,
                    cfg_.n_heads, cfg_.n_kv_heads, cfg_.head_dim,
                    1.0f / std::sqrt(static_cast<float>(cfg_.head_dim)));
  L.o->forward(a.attn.data(), N, tmp_.data());
  lora_fwd(l, Proj::o, a.attn.data(), tmp_.data(), D, training);
  add(a.x_in.data(), tmp_.data(), a.x_mid.data(), N * D);

  rmsnorm_forward(a.x_mid.data(), L.ffn_norm.data(), a.xn2.data(), a.inv_rms2.data(), N, D,
                  cfg_.rms_eps);
  L.gate_up->forward(a.xn2.data(), N, a.gate_up.data());  // [N, F | F]
  lora_fwd(l, Proj::gate, a.xn2.data(), a.gate_up.data(), 2 * F, training);
  lora_fwd(l, Proj::up, a.xn2.data(), a.gate_up.data() + F, 2 * F, training);
  swiglu_forward(a.gate_up.data(), a.h.data(), N, F);
  L.down->forward(a.h.data(), N, tmp_.data());
  lora_fwd(l, Proj::down, a.h.data(), tmp_.data(), D, training);
  add(a.x_mid.data(), tmp_.data(), x_out, N * D);
}

// dres [N, D]: on entry d(loss)/d(layer output); on exit d(loss)/d(layer input).
void LlamaModel::layer_backward(int64_t l, float* dres) {
  Layer& L = layers_[l];
  Activations& a = acts_[l];
  const int64_t N = B_ * T_, D = cfg_.dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim(), F = cfg_.ffn_dim;
  const int64_t W = Q + 2 * KV;

  // MLP: out = x_mid + down(swiglu(gate_up(norm(x_mid))))
  L.down->backward(dres, N, dh_.data());
  lora_bwd(l, Proj::down, a.h.data(), dres, D, dh_.data());
  swiglu_backward(a.gate_up.data(), dh_.data(), dgu_.data(), N, F);
  L.gate_up->backward(dgu_.data(), N, dxn_.data());
  lora_bwd(l, Proj::gate, a.xn2.data(), dgu_.data(), 2 * F, dxn_.data());
  lora_bwd(l, Proj::up, a.xn2.data(), dgu_.data() + F, 2 * F, dxn_.data());
  rmsnorm_backward(a.x_mid.data(), L.ffn_norm.data(), a.inv_rms2.data(), dxn_.data(), dres, N, D,
                   /*accumulate=*/true);

  // Attention: x_mid = x_in + o(attn(rope(q), rope(k), v))
  L.o->backward(dres, N, dattn_.data());
  lora_bwd(l, Proj::o, a.attn.data(), dres, D, dattn_.data());
  attention_backward(a.q.data(), a.k.data(), a.v.data(), a.attn.data(), a.lse.data(), dattn_.data(),
                     dq_.data(), dk_.data(), dv_.data(), B_, T_, cfg_.n_heads, cfg_.n_kv_heads,
                     cfg_.head_dim, 1.0f / std::sqrt(static_cast<float>(cfg_.head_dim)));
  rope_backward(dq_.data(), positions_.data(), N, cfg_.n_heads, rope_);
  rope_backward(dk_.data(), positions_.data(), N, cfg_.n_kv_heads, rope_);
  copy_cols(dq_.data(), Q, dqkv_.data(), W, N, Q);
  copy_cols(dk_.data(), KV, dqkv_.data() + Q, W, N, KV);
  copy_cols(dv_.data(), KV, dqkv_.data() + Q + KV, W, N, KV);
  L.qkv->backward(dqkv_.data(), N, dxn_.data());
  lora_bwd(l, Proj::q, a.xn1.data(), dqkv_.data(), W, dxn_.data());
  lora_bwd(l, Proj::k, a.xn1.data(), dqkv_.data() + Q, W, dxn_.data());
  lora_bwd(l, Proj::v, a.xn1.data(), dqkv_.data() + Q + KV, W, dxn_.data());
  rmsnorm_backward(a.x_in.data(), L.attn_norm.data(), a.inv_rms1.data(), dxn_.data(), dres, N, D,
                   /*accumulate=*/true);
}

void LlamaModel::forward_layers(const TokenBatch& batch, bool training) {
  check_batch(batch);
  prepare(batch.B, batch.T, training);
  const int64_t N = B_ * T_;
  embedding_forward(tok_emb_.data(), batch.tokens.data(), acts_[0].x_in.data(), N, cfg_.dim,
                    cfg_.vocab_size);
  for (int64_t l = 0; l < cfg_.n_layers; ++l) {
    if (training) {
      float* out = l + 1 < cfg_.n_layers ? acts_[l + 1].x_in.data() : x_final_.data();
      layer_forward(l, acts_[l], acts_[l].x_in.data(), out, training);
    } else {
      // Ping-pong through x_final_: the layer's input is copied into the shared buffers first.
      layer_forward(l, acts_[0], l == 0 ? acts_[0].x_in.data() : x_final_.data(), x_final_.data(),
                    training);
    }
  }
}

double LlamaModel::head(const TokenBatch& batch, bool backward, float loss_scale,
                        std::vector<double>* per_position_loss) {
  const int64_t N = B_ * T_, D = cfg_.dim, V = cfg_.vocab_size;
  rmsnorm_forward(x_final_.data(), final_norm_.data(), xf_.data(), inv_rms_f_.data(), N, D,
                  cfg_.rms_eps);
  // Only positions with a target need logits: prompt and padding rows are skipped entirely.
  std::vector<int64_t> rows;
  rows.reserve(N);
  for (int64_t i = 0; i < N; ++i)
    if (batch.targets[i] != kIgnoreTarget) rows.push_back(i);
  if (per_position_loss) per_position_loss->assign(N, 0.0);
  if (backward) std::fill(dxf_.begin(), dxf_.begin() + N * D, 0.0f);
  grow(head_x_, kHeadChunk * D), grow(head_logits_, kHeadChunk * V), grow(head_dx_, kHeadChunk * D);
  std::vector<int32_t> labels(kHeadChunk);
  std::vector<double> row_loss(kHeadChunk);
  double total = 0.0;
  for (size_t c0 = 0; c0 < rows.size(); c0 += kHeadChunk) {
    const int64_t c = std::min<int64_t>(kHeadChunk, static_cast<int64_t>(rows.size() - c0));
    for (int64_t i = 0; i < c; ++i) {
      std::memcpy(&head_x_[i * D], &xf_[rows[c0 + i] * D], sizeof(float) * D);
      labels[i] = batch.targets[rows[c0 + i]];
    }
    head_forward(head_x_.data(), c, head_logits_.data());  // [c, V]
    if (backward) {
      total += cross_entropy_forward_backward(head_logits_.data(), labels.data(), c, V, loss_scale,
                                              row_loss.data());
      head_backward(head_logits_.data(), c, head_dx_.data());  // dlogits [c, V] -> dx [c, D]
      for (int64_t i = 0; i < c; ++i)
        std::memcpy(&dxf_[rows[c0 + i] * D], &head_dx_[i * D], sizeof(float) * D);
    } else {
      total += cross_entropy_forward(head_logits_.data(), labels.data(), c, V, row_loss.data());
    }
    if (per_position_loss)
      for (int64_t i = 0; i < c; ++i) (*per_position_loss)[rows[c0 + i]] = row_loss[i];
  }
  return total;
}

double LlamaModel::forward_backward(const TokenBatch& batch, float loss_scale) {
  forward_layers(batch, /*training=*/true);
  const double loss = head(batch, /*backward=*/true, loss_scale, nullptr);
  const int64_t N = B_ * T_, D = cfg_.dim;
  float* dres = input_grad_.data();
  rmsnorm_backward(x_final_.data(), final_norm_.data(), inv_rms_f_.data(), dxf_.data(), dres, N, D,
                   /*accumulate=*/false);
  for (int64_t l = cfg_.n_layers - 1; l >= first_backprop_layer_; --l) layer_backward(l, dres);
  return loss;
}

double LlamaModel::forward_loss(const TokenBatch& batch, std::vector<double>* per_position_loss) {
  forward_layers(batch, /*training=*/false);
  return head(batch, /*backward=*/false, 1.0f, per_position_loss);
}

std::vector<float> LlamaModel::logits(const TokenBatch& batch) {
  forward_layers(batch, /*training=*/false);
  const int64_t N = B_ * T_, D = cfg_.dim, V = cfg_.vocab_size;
  rmsnorm_forward(x_final_.data(), final_norm_.data(), xf_.data(), inv_rms_f_.data(), N, D,
                  cfg_.rms_eps);
  std::vector<float> out(N * V);
  head_forward(xf_.data(), N, out.data());
  return out;
}

}  // namespace cipherlora
