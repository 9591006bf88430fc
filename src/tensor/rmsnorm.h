// RMSNorm as Hugging Face's LlamaRMSNorm computes it in fp32:
//   y = w * (x * rsqrt(mean(x²) + eps))       per row of D features.
// The backward gives the gradient w.r.t. x only (the weight w is a frozen base weight).
//
//   rmsnorm_forward(x, w, y, inv_rms, T, D, 1e-5f);
//   ...
//   rmsnorm_backward(x, w, inv_rms, dy, dx, T, D, /*accumulate=*/true);  // dx += ∂L/∂x
#pragma once

#include <cstdint>

namespace cipherlora {

// x: [T, D], w: [D], y: [T, D] (may alias x), inv_rms: [T] = rsqrt(mean(x²) + eps), saved for
// the backward.
void rmsnorm_forward(const float* x, const float* w, float* y, float* inv_rms, int64_t T, int64_t D,
                     float eps);

// x: [T, D] (the forward's input), w: [D], inv_rms: [T] (from the forward), dy: [T, D],
// dx: [T, D]. With accumulate, adds the gradient into dx (the residual stream's dx += ...);
// otherwise overwrites dx (then dx may alias dy).
void rmsnorm_backward(const float* x, const float* w, const float* inv_rms, const float* dy,
                      float* dx, int64_t T, int64_t D, bool accumulate);

}  // namespace cipherlora
