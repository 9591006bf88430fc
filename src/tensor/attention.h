// Causal grouped-query self-attention (Llama), fp32, forward and backward w.r.t. q, k and v.
//
// For batch row b and query head h (kv head g = h / (Hq/Hkv), as HF's repeat_kv):
//   out[b,t,h] = Σ_{j<=t} softmax_j(scale · q[b,t,h]·k[b,j,g]) v[b,j,g]
// The forward saves only the log-sum-exp of each score row; the backward recomputes the
// probabilities from it (flash-attention style), so no [T, T] tensor lives between the passes.
// Right-padded sequences need no extra mask: pads come after the real tokens, and causality
// already keeps real tokens from seeing them.
//
//   attention_forward(q, k, v, out, lse, B, T, Hq, Hkv, d, 1.0f / std::sqrt(float(d)));
//   attention_backward(q, k, v, out, lse, dout, dq, dk, dv, B, T, Hq, Hkv, d, scale);
//
// Work is split over (b, query head) across OpenMP threads; tile products run through sgemm
// (single-threaded inside the parallel region). Scratch is thread-local and reused across calls.
#pragma once

#include <cstdint>

namespace cipherlora {

// q: [B, T, Hq, d], k: [B, T, Hkv, d], v: [B, T, Hkv, d], out: [B, T, Hq, d],
// lse: [B, Hq, T] log-sum-exp of each row of scaled scores, saved for the backward.
// Throws Error unless Hq is a multiple of Hkv.
void attention_forward(const float* q, const float* k, const float* v, float* out, float* lse,
                       int64_t B, int64_t T, int64_t Hq, int64_t Hkv, int64_t d, float scale);

// q, k, v, out, lse: as passed to / produced by attention_forward; dout: [B, T, Hq, d].
// Writes (overwrites) dq: [B, T, Hq, d], dk: [B, T, Hkv, d], dv: [B, T, Hkv, d].
void attention_backward(const float* q, const float* k, const float* v, const float* out,
                        const float* lse, const float* dout, float* dq, float* dk, float* dv,
                        int64_t B, int64_t T, int64_t Hq, int64_t Hkv, int64_t d, float scale);

}  // namespace cipherlora
