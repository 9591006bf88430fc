// The trainable LoRA branch of one projection, as plain functions over the model's buffers:
// forward adds s·(xd·Aᵀ)·Bᵀ into the projection's output, backward accumulates dA, dB and adds the
// branch's contribution to the input gradient. `xd` is the (dropped-out) input the branch saw.
//
//   lora_forward(pair, s, xd, N, u, y, ldy);                 // y[:, block] += s·u·Bᵀ, u = xd·Aᵀ
//   lora_backward(pair, s, xd, u, dy, ldy, N, du, dx, keep); // dA, dB += ...; dx += ...
#pragma once

#include <cstdint>

#include "model/lora.h"

namespace cipherlora {

// u [N, r] = xd [N, in] · Aᵀ;  y [N, out] (row stride ldy) += s · u · Bᵀ.
void lora_forward(const LoraPair& p, float s, const float* xd, int64_t N, float* u, float* y,
                  int64_t ldy);

// dy [N, out] (row stride ldy).  du [N, r] is scratch.  dx [N, in] is accumulated into; when
// `keep` is non-null (dropout), the input gradient is masked: dx += keep_scale·keep ⊙ (du·A).
// `tmp` [N, in] is scratch used only with dropout.
void lora_backward(LoraPair& p, float s, const float* xd, const float* u, const float* dy,
                   int64_t ldy, int64_t N, float* du, float* dx, const uint8_t* keep,
                   float keep_scale, float* tmp);

// Inverted dropout of x [n] into xd [n], deterministic in (seed, stream): keep[i] = 1 with
// probability 1-p, xd = keep·x/(1-p). The same (seed, stream) gives the same mask on any thread
// count, so runs are reproducible.
void dropout_forward(const float* x, int64_t n, float p, uint64_t seed, uint64_t stream,
                     uint8_t* keep, float* xd);

}  // namespace cipherlora
