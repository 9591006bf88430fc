#include "tensor/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "tensor/gemm.h"
#include "tensor/vec_math.h"

namespace cipherlora {

// Query rows per tile. Scores of a tile against all keys it may see are one [kBlock, T] buffer;
// 64 keeps that in L2 for T = 2048 and wastes only the upper half of the diagonal tile.
static constexpr int64_t kBlock = 64;

// A per-thread buffer of at least n floats, kept and reused across calls.
static float* thread_buffer(std::vector<float>& buf, size_t n) {
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// s: [n] scaled scores of one query row; keys j >= n_valid are in the causal future.
// Overwrites s with softmax probabilities (0 for future keys) and returns the log-sum-exp.
CIPHERLORA_SIMD_CLONES static float softmax_row(float* s, int64_t n_valid, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < n_valid; ++j)
    m = m > s[j] ? m : s[j];  // not std::max: that form stays scalar
  float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < n_valid; ++j) {
    float e = exp_f32(s[j] - m);
    s[j] = e;
    sum += e;
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < n_valid; ++j) s[j] *= inv;
  for (int64_t j = n_valid; j < n; ++j) s[j] = 0.0f;
  return m + std::log(sum);
}

// s: [n] scaled scores -> probabilities exp(s - lse), 0 for future keys j >= n_valid.
CIPHERLORA_SIMD_CLONES static void probs_row(float* s, int64_t n_valid, int64_t n, float lse) {
  for (int64_t j = 0; j < n_valid; ++j) s[j] = exp_f32(s[j] - lse);
  for (int64_t j = n_valid; j < n; ++j) s[j] = 0.0f;
}

// Softmax backward for one row: dp <- p * (dp - D) where D = Σ_j p_j dp_j = dout·out.
CIPHERLORA_SIMD_CLONES static void dscores_row(const float* p, float* dp, int64_t n, float D) {
  for (int64_t j = 0; j < n; ++j) dp[j] = p[j] * (dp[j] - D);
}

CIPHERLORA_SIMD_CLONES static float dot_row(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

static void check_heads(int64_t Hq, int64_t Hkv) {
  require(Hkv > 0 && Hq > 0 && Hq % Hkv == 0, "attention: " + std::to_string(Hq) +
                                                  " query heads cannot share " +
                                                  std::to_string(Hkv) + " kv heads evenly");
}

void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse,
                       int64_t B, int64_t T, int64_t Hq, int64_t Hkv, int64_t d, float scale) {
  check_heads(Hq, Hkv);
  const int64_t group = Hq / Hkv;
  const int64_t ldq = Hq * d, ldk = Hkv * d;
#pragma omp parallel
  {
    thread_local std::vector<float> scores_buf;
    float* scores = thread_buffer(scores_buf, static_cast<size_t>(kBlock * T));  // [kBlock, T]
#pragma omp for schedule(static)
    for (int64_t unit = 0; unit < B * Hq; ++unit) {
      const int64_t b = unit / Hq, h = unit % Hq, g = h / group;
      const float* qh = q + b * T * ldq + h * d;  // [T, d] with row stride ldq
      const float* kg = k + b * T * ldk + g * d;  // [T, d] with row stride ldk
      const float* vg = v + b * T * ldk + g * d;
      float* oh = out + b * T * ldq + h * d;
      float* lse_h = lse + (b * Hq + h) * T;  // [T]
      for (int64_t i0 = 0; i0 < T; i0 += kBlock) {
        const int64_t rows = std::min(kBlock, T - i0), n = i0 + rows;  // keys 0..n-1
        // S[rows, n] = scale · Q_tile · K[0:n]ᵀ
        sgemm(false, true, rows, n, d, scale, qh + i0 * ldq, ldq, kg, ldk, 0.0f, scores, n);
        for (int64_t r = 0; r < rows; ++r)
          lse_h[i0 + r] = softmax_row(scores + r * n, i0 + r + 1, n);
        // O_tile[rows, d] = P · V[0:n]
        sgemm(false, false, rows, d, n, 1.0f, scores, n, vg, ldk, 0.0f, oh + i0 * ldq, ldq);
      }
    }
  }
}

void attention_backward(const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv,
                        int64_t B, int64_t T, int64_t Hq, int64_t Hkv, int64_t d, float scale) {
  check_heads(Hq, Hkv);
  const int64_t group = Hq / Hkv;
  const int64_t ldq = Hq * d, ldk = Hkv * d;
  // With grouped kv heads, several query heads add into the same dk/dv rows. Rather than
  // serialize them, each (b, query head) accumulates into its own [T, d] slice of a scratch
  // tensor [B, Hq, T, d] that is summed over the group afterwards. Without grouping the unit
  // owns its kv head and writes dk/dv directly.
  thread_local std::vector<float> expanded_buf;
  float* expanded = nullptr;
  if (group > 1) expanded = thread_buffer(expanded_buf, static_cast<size_t>(2 * B * Hq * T * d));
#pragma omp parallel
  {
    thread_local std::vector<float> p_buf, dp_buf;
    float* p = thread_buffer(p_buf, static_cast<size_t>(kBlock * T));    // [kBlock, T]
    float* dp = thread_buffer(dp_buf, static_cast<size_t>(kBlock * T));  // [kBlock, T]
#pragma omp for schedule(static)
    for (int64_t unit = 0; unit < B * Hq; ++unit) {
      const int64_t b = unit / Hq, h = unit % Hq, g = h / group;
      const float* qh = q + b * T * ldq + h * d;  // [T, d] with row stride ldq
      const float* kg = k + b * T * ldk + g * d;  // [T, d] with row stride ldk
      const float* vg = v + b * T * ldk + g * d;
      const float* oh = out + b * T * ldq + h * d;
      const float* doh = dout + b * T * ldq + h * d;
      const float* lse_h = lse + (b * Hq + h) * T;
      float* dqh = dq + b * T * ldq + h * d;
      float *dkh, *dvh;
      int64_t ld_kv;
      if (group > 1) {
        dkh = expanded + unit * T * d;
        dvh = expanded + (B * Hq + unit) * T * d;
        ld_kv = d;
      } else {
        dkh = dk + b * T * ldk + g * d;
        dvh = dv + b * T * ldk + g * d;
        ld_kv = ldk;
      }
      for (int64_t t = 0; t < T; ++t) {
        std::fill(dkh + t * ld_kv, dkh + t * ld_kv + d, 0.0f);
        std::fill(dvh + t * ld_kv, dvh + t * ld_kv + d, 0.0f);
      }
      for (int64_t i0 = 0; i0 < T; i0 += kBlock) {
        const int64_t rows = std::min(kBlock, T - i0), n = i0 + rows;  // keys 0..n-1
        const float* q_tile = qh + i0 * ldq;
        const float* do_tile = doh + i0 * ldq;
        // P[rows, n] = exp(scale · Q_tile · K[0:n]ᵀ - lse), recomputed.
        sgemm(false, true, rows, n, d, scale, q_tile, ldq, kg, ldk, 0.0f, p, n);
        for (int64_t r = 0; r < rows; ++r) probs_row(p + r * n, i0 + r + 1, n, lse_h[i0 + r]);
        // dV[0:n] += Pᵀ · dO_tile
        sgemm(true, false, n, d, rows, 1.0f, p, n, do_tile, ldq, 1.0f, dvh, ld_kv);
        // dP[rows, n] = dO_tile · V[0:n]ᵀ, then dS = P ∘ (dP - rowsum(dO ∘ O)).
        sgemm(false, true, rows, n, d, 1.0f, do_tile, ldq, vg, ldk, 0.0f, dp, n);
        for (int64_t r = 0; r < rows; ++r) {
          const float D = dot_row(do_tile + r * ldq, oh + (i0 + r) * ldq, d);
          dscores_row(p + r * n, dp + r * n, n, D);
        }
        // dQ_tile = scale · dS · K[0:n];  dK[0:n] += scale · dSᵀ · Q_tile
        sgemm(false, false, rows, d, n, scale, dp, n, kg, ldk, 0.0f, dqh + i0 * ldq, ldq);
        sgemm(true, false, n, d, rows, scale, dp, n, q_tile, ldq, 1.0f, dkh, ld_kv);
      }
    }
    if (group > 1) {
      // dk[b, t, g] = Σ over the group's query heads of their slices (same for dv).
#pragma omp for schedule(static)
      for (int64_t bt = 0; bt < B * T; ++bt) {
        const int64_t b = bt / T, t = bt % T;
        for (int64_t g = 0; g < Hkv; ++g) {
          float* dk_row = dk + bt * ldk + g * d;
          float* dv_row = dv + bt * ldk + g * d;
          std::fill(dk_row, dk_row + d, 0.0f);
          std::fill(dv_row, dv_row + d, 0.0f);
          for (int64_t h = g * group; h < (g + 1) * group; ++h) {
            const float* ek = expanded + ((b * Hq + h) * T + t) * d;
            const float* ev = expanded + ((B * Hq + b * Hq + h) * T + t) * d;
            for (int64_t c = 0; c < d; ++c) {
              dk_row[c] += ek[c];
              dv_row[c] += ev[c];
            }
          }
        }
      }
    }
  }
}

}  // namespace cipherlora
