#include "tensor/rmsnorm.h"

#include <cmath>

#include "tensor/vec_math.h"

namespace cipherlora {

// Sum of squares in double: D is small (hundreds to thousands), and a wide accumulator makes the
// normalizer independent of summation order.
CIPHERLORA_SIMD_CLONES static void rmsnorm_row(const float* x, const float* w, float* y,
                                               float* inv_rms, int64_t D, float eps) {
  double ss = 0.0;
#pragma omp simd reduction(+ : ss)
  for (int64_t i = 0; i < D; ++i) ss += static_cast<double>(x[i]) * x[i];
  float var = static_cast<float>(ss / static_cast<double>(D));
  float r = 1.0f / std::sqrt(var + eps);
  *inv_rms = r;
  for (int64_t i = 0; i < D; ++i) y[i] = w[i] * (x[i] * r);  // HF order: w * (x * r)
}

void rmsnorm_forward(const float* x, const float* w, float* y, float* inv_rms, int64_t T, int64_t D,
                     float eps) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) rmsnorm_row(x + t * D, w, y + t * D, inv_rms + t, D, eps);
}

// With y_i = w_i x_i r and r = (mean(x²) + eps)^(-1/2):
//   dx_j = r w_j dy_j - (r³ / D) x_j Σ_i dy_i w_i x_i
CIPHERLORA_SIMD_CLONES static void rmsnorm_backward_row(const float* x, const float* w, float r,
                                                        const float* dy, float* dx, int64_t D,
                                                        bool accumulate) {
  double dot = 0.0;
#pragma omp simd reduction(+ : dot)
  for (int64_t i = 0; i < D; ++i) dot += static_cast<double>(dy[i]) * w[i] * x[i];
  float c = static_cast<float>(dot * r * r * r / static_cast<double>(D));
  if (accumulate) {
    for (int64_t i = 0; i < D; ++i) dx[i] += r * w[i] * dy[i] - c * x[i];
  } else {
    for (int64_t i = 0; i < D; ++i) dx[i] = r * w[i] * dy[i] - c * x[i];
  }
}

void rmsnorm_backward(const float* x, const float* w, const float* inv_rms, const float* dy,
                      float* dx, int64_t T, int64_t D, bool accumulate) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t)
    rmsnorm_backward_row(x + t * D, w, inv_rms[t], dy + t * D, dx + t * D, D, accumulate);
}

}  // namespace cipherlora
