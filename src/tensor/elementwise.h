// Small elementwise kernels of a residual transformer: residual adds, scaled accumulation,
// scaling and the squared norm used for gradient clipping. Large arrays are split over threads.
//
//   add(x, attn_out, x, n);          // x = x + attn_out   (residual stream)
//   axpy(lora_scale, lora_y, y, n);  // y += s · lora_y
//   double g2 = sum_squares(grad, n);
#pragma once

#include <cstdint>

namespace cipherlora {

// out[n] = a[n] + b[n]; out may alias a or b.
void add(const float* a, const float* b, float* out, int64_t n);

// y[n] += alpha · x[n].
void axpy(float alpha, const float* x, float* y, int64_t n);

// x[n] *= alpha.
void scale(float* x, float alpha, int64_t n);

// Σ x[i]² over x: [n], accumulated in double.
double sum_squares(const float* x, int64_t n);

}  // namespace cipherlora
