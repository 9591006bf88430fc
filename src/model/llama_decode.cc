// Incremental decoding with a key/value cache, for `generate`. Forward only, no dropout; the
// frozen linears still go through the model's backends, so generation works in every mode.
#include <cmath>
#include <cstring>

#include "common/error.h"
#include "model/llama_layer.h"
#include "model/lora_linear.h"
#include "tensor/elementwise.h"
#include "tensor/embedding.h"
#include "tensor/rmsnorm.h"
#include "tensor/rope.h"
#include "tensor/swiglu.h"

namespace cipherlora {

namespace {

// out [n, Hq*hd] = causal attention of n new queries q [n, Hq*hd] at positions p0..p0+n-1 over the
// cached keys/values k, v [p0+n, Hkv*hd].
void cached_attention(const float* q, const float* k, const float* v, float* out, int64_t n,
                      int64_t p0, int64_t Hq, int64_t Hkv, int64_t hd) {
  const int64_t group = Hq / Hkv, KV = Hkv * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
#pragma omp parallel
  {
    std::vector<float> p(p0 + n);
#pragma omp for collapse(2) schedule(static)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t h = 0; h < Hq; ++h) {
        const float* qi = q + (i * Hq + h) * hd;
        const int64_t kvh = h / group, len = p0 + i + 1;
        float mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) {
          const float* kj = k + j * KV + kvh * hd;
          float s = 0.0f;
          for (int64_t d = 0; d < hd; ++d) s += qi[d] * kj[d];
          p[j] = s * scale;
          mx = std::max(mx, p[j]);
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < len; ++j) sum += (p[j] = std::exp(p[j] - mx));
        float* o = out + (i * Hq + h) * hd;
        std::fill(o, o + hd, 0.0f);
        for (int64_t j = 0; j < len; ++j) {
          const float w = p[j] / sum;
          const float* vj = v + j * KV + kvh * hd;
          for (int64_t d = 0; d < hd; ++d) o[d] += w * vj[d];
        }
      }
  }
}

}  // namespace

LlamaModel::KvCache LlamaModel::make_kv_cache(int64_t capacity) const {
  require(capacity > 0 && capacity <= cfg_.max_positions,
          "generation length " + std::to_string(capacity) + " exceeds the model's context of " +
              std::to_string(cfg_.max_positions));
  KvCache c;
  c.capacity = capacity;
  c.k.assign(cfg_.n_layers, std::vector<float>(capacity * cfg_.kv_dim()));
  c.v.assign(cfg_.n_layers, std::vector<float>(capacity * cfg_.kv_dim()));
  return c;
}

void LlamaModel::decode(const int32_t* tokens, int64_t n, KvCache& cache, float* last_logits) {
  const int64_t D = cfg_.dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim(), F = cfg_.ffn_dim;
  const int64_t W = Q + 2 * KV, p0 = cache.len;
  require(n > 0 && p0 + n <= cache.capacity,
          "generation: context of " + std::to_string(cache.capacity) + " tokens is full");
  for (int64_t i = 0; i < n; ++i)
    require(tokens[i] >= 0 && tokens[i] < cfg_.vocab_size, "token id out of range");
  KvCache& c = cache;
  for (auto* buf : {&c.x, &c.xn, &c.tmp}) buf->resize(n * D);
  c.qkv.resize(n * W), c.q.resize(n * Q), c.attn.resize(n * Q);
  c.gate_up.resize(n * 2 * F), c.h.resize(n * F), c.inv_rms.resize(n), c.pos.resize(n);
  float *x = c.x.data(), *xn = c.xn.data(), *qkv = c.qkv.data(), *q = c.q.data();
  float *attn = c.attn.data(), *tmp = c.tmp.data(), *gu = c.gate_up.data(), *h = c.h.data();
  float* inv = c.inv_rms.data();
  int32_t* pos = c.pos.data();
  for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(p0 + i);
  auto lora = [&](int64_t l, Proj p, const float* in, float* y, int64_t ldy) {
    if (lora_ == nullptr || l >= lora_->n_layers() || !lora_->at(l, p).active()) return;
    c.lora_u.resize(n * lora_->config().r);
    lora_forward(lora_->at(l, p), lora_->config().scale(), in, n, c.lora_u.data(), y, ldy);
  };

  embedding_forward(tok_emb_.data(), tokens, x, n, D, cfg_.vocab_size);
  for (int64_t l = 0; l < cfg_.n_layers; ++l) {
    Layer& L = layers_[l];
    rmsnorm_forward(x, L.attn_norm.data(), xn, inv, n, D, cfg_.rms_eps);
    L.qkv->forward(xn, n, qkv);
    lora(l, Proj::q, xn, qkv, W);
    lora(l, Proj::k, xn, qkv + Q, W);
    lora(l, Proj::v, xn, qkv + Q + KV, W);
    float* kc = cache.k[l].data() + p0 * KV;
    float* vc = cache.v[l].data() + p0 * KV;
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(&q[i * Q], &qkv[i * W], sizeof(float) * Q);
      std::memcpy(kc + i * KV, &qkv[i * W + Q], sizeof(float) * KV);
      std::memcpy(vc + i * KV, &qkv[i * W + Q + KV], sizeof(float) * KV);
    }
    rope_forward(q, pos, n, cfg_.n_heads, rope_);
    rope_forward(kc, pos, n, cfg_.n_kv_heads, rope_);
    cached_attention(q, cache.k[l].data(), cache.v[l].data(), attn, n, p0, cfg_.n_heads,
                     cfg_.n_kv_heads, cfg_.head_dim);
    L.o->forward(attn, n, tmp);
    lora(l, Proj::o, attn, tmp, D);
    add(x, tmp, x, n * D);
    rmsnorm_forward(x, L.ffn_norm.data(), xn, inv, n, D, cfg_.rms_eps);
    L.gate_up->forward(xn, n, gu);
    lora(l, Proj::gate, xn, gu, 2 * F);
    lora(l, Proj::up, xn, gu + F, 2 * F);
    swiglu_forward(gu, h, n, F);
    L.down->forward(h, n, tmp);
    lora(l, Proj::down, h, tmp, D);
    add(x, tmp, x, n * D);
  }
  cache.len += n;
  const float* last = x + (n - 1) * D;
  rmsnorm_forward(last, final_norm_.data(), xn, inv, 1, D, cfg_.rms_eps);
  head_forward(xn, 1, last_logits);
}

}  // namespace cipherlora
