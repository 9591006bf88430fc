#include "tensor/swiglu.h"

#include "tensor/vec_math.h"

namespace cipherlora {

CIPHERLORA_SIMD_CLONES static void swiglu_row(const float* gate, const float* up, float* h,
                                              int64_t F) {
  for (int64_t i = 0; i < F; ++i) {
    // torch's silu in fp32: x / (1 + exp(-x)); exp overflow for x << 0 gives x / inf = -0.
    float g = gate[i];
    h[i] = g / (1.0f + exp_f32(-g)) * up[i];
  }
}

void swiglu_forward(const float* gate_up, float* h, int64_t T, int64_t F) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const float* row = gate_up + t * 2 * F;
    swiglu_row(row, row + F, h + t * F, F);
  }
}

// With s = sigmoid(g):  ∂h/∂up = g s,  ∂h/∂g = up · s (1 + g (1 - s)).
CIPHERLORA_SIMD_CLONES static void swiglu_backward_row(const float* gate, const float* up,
                                                       const float* dh, float* dgate, float* dup,
                                                       int64_t F) {
  for (int64_t i = 0; i < F; ++i) {
    float g = gate[i], u = up[i], d = dh[i];
    float s = 1.0f / (1.0f + exp_f32(-g));
    dgate[i] = d * u * (s * (1.0f + g * (1.0f - s)));
    dup[i] = d * (g * s);
  }
}

void swiglu_backward(const float* gate_up, const float* dh, float* dgate_up, int64_t T, int64_t F) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const float* row = gate_up + t * 2 * F;
    float* drow = dgate_up + t * 2 * F;
    swiglu_backward_row(row, row + F, dh + t * F, drow, drow + F, F);
  }
}

}  // namespace cipherlora
