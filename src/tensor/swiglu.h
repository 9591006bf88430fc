// SwiGLU, the Llama MLP's activation: h = silu(gate) * up, silu(x) = x / (1 + e^-x).
// The gate and up projections run as one fused linear whose output row holds the F gate columns
// first, then the F up columns; these kernels take that fused [T, 2F] tensor directly.
//
//   swiglu_forward(gate_up, h, T, F);                 // gate_up: [T, 2F] -> h: [T, F]
//   swiglu_backward(gate_up, dh, dgate_up, T, F);     // dh: [T, F] -> dgate_up: [T, 2F]
#pragma once

#include <cstdint>

namespace cipherlora {

// gate_up: [T, 2F] (row t = gate[t, 0:F] then up[t, 0:F]), h: [T, F].
void swiglu_forward(const float* gate_up, float* h, int64_t T, int64_t F);

// gate_up: [T, 2F] (the forward's input), dh: [T, F], dgate_up: [T, 2F] overwritten with
// (∂L/∂gate, ∂L/∂up) in the same fused layout. dgate_up may alias gate_up (computed in place).
void swiglu_backward(const float* gate_up, const float* dh, float* dgate_up, int64_t T, int64_t F);

}  // namespace cipherlora
