#include "tensor/cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "common/error.h"
#include "tensor/vec_math.h"

namespace cipherlora {

static void check_labels(const int32_t* labels, int64_t T, int64_t V) {
  for (int64_t t = 0; t < T; ++t) {
    require(labels[t] == kIgnoreIndex || (labels[t] >= 0 && labels[t] < V),
            "cross entropy: label " + std::to_string(labels[t]) + " of token " + std::to_string(t) +
                " is outside the vocabulary [0, " + std::to_string(V) +
                ") and is not the ignore index " + std::to_string(kIgnoreIndex));
  }
}

CIPHERLORA_SIMD_CLONES static float max_of(const float* x, int64_t n) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = m > x[i] ? m : x[i];  // not std::max: that form stays scalar
  return m;
}

// Σ exp(x - m), accumulated in double.
CIPHERLORA_SIMD_CLONES static double sum_exp(const float* x, int64_t n, float m) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += exp_f32(x[i] - m);
  return s;
}

// x <- exp(x - m); returns Σ exp(x - m) accumulated in double.
CIPHERLORA_SIMD_CLONES static double exp_in_place(float* x, int64_t n, float m) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) {
    float e = exp_f32(x[i] - m);
    x[i] = e;
    s += e;
  }
  return s;
}

CIPHERLORA_SIMD_CLONES static void scale_row(float* x, int64_t n, float a) {
  for (int64_t i = 0; i < n; ++i) x[i] *= a;
}

// loss = logsumexp(x) - x[label] = log Σ exp(x - m) - (x[label] - m).
double cross_entropy_forward(const float* logits, const int32_t* labels, int64_t T, int64_t V,
                             double* per_row_loss) {
  check_labels(labels, T, V);
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t t = 0; t < T; ++t) {
    double loss = 0.0;
    if (labels[t] != kIgnoreIndex) {
      const float* row = logits + t * V;
      const float m = max_of(row, V);
      const double s = sum_exp(row, V, m);
      loss = std::log(s) - (static_cast<double>(row[labels[t]]) - m);
    }
    if (per_row_loss) per_row_loss[t] = loss;
    total += loss;
  }
  return total;
}

double cross_entropy_forward_backward(float* logits, const int32_t* labels, int64_t T, int64_t V,
                                      float grad_scale, double* per_row_loss) {
  check_labels(labels, T, V);
  double total = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t t = 0; t < T; ++t) {
    float* row = logits + t * V;
    double loss = 0.0;
    if (labels[t] == kIgnoreIndex) {
      std::fill(row, row + V, 0.0f);
    } else {
      const int32_t label = labels[t];
      const float m = max_of(row, V);
      const float x_label = row[label];
      const double s = exp_in_place(row, V, m);  // row now holds exp(x - m)
      loss = std::log(s) - (static_cast<double>(x_label) - m);
      scale_row(row, V, static_cast<float>(grad_scale / s));
      row[label] -= grad_scale;
    }
    if (per_row_loss) per_row_loss[t] = loss;
    total += loss;
  }
  return total;
}

void softmax(float* x, int64_t n, float temperature) {
  const float inv_t = 1.0f / temperature;
  scale_row(x, n, inv_t);
  const double s = exp_in_place(x, n, max_of(x, n));
  scale_row(x, n, static_cast<float>(1.0 / s));
}

int32_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return static_cast<int32_t>(best);
}

int32_t sample_token(const float* logits, int64_t n, float temperature, double u, float* scratch) {
  if (temperature <= 0.0f) return argmax(logits, n);
  std::copy(logits, logits + n, scratch);
  softmax(scratch, n, temperature);
  double cdf = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    cdf += scratch[i];
    if (u < cdf) return static_cast<int32_t>(i);
  }
  // Rounding left the total just under 1 and u above it: the last token with nonzero mass.
  for (int64_t i = n - 1; i > 0; --i)
    if (scratch[i] > 0.0f) return static_cast<int32_t>(i);
  return 0;
}

}  // namespace cipherlora
