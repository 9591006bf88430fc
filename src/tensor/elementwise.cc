#include "tensor/elementwise.h"

#include <algorithm>

#include "tensor/vec_math.h"

namespace cipherlora {

// Below this many elements a parallel region costs more than it saves.
static constexpr int64_t kParallelMin = 1 << 15;
// Elements per chunk: each thread runs the vectorized loop over whole chunks.
static constexpr int64_t kChunk = 1 << 14;

static int64_t num_chunks(int64_t n) {
  return (n + kChunk - 1) / kChunk;
}

CIPHERLORA_SIMD_CLONES static void add_chunk(const float* a, const float* b, float* out,
                                             int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

CIPHERLORA_SIMD_CLONES static void axpy_chunk(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

CIPHERLORA_SIMD_CLONES static void scale_chunk(float* x, float alpha, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

CIPHERLORA_SIMD_CLONES static double sum_squares_chunk(const float* x, int64_t n) {
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  return s;
}

void add(const float* a, const float* b, float* out, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < num_chunks(n); ++c) {
    const int64_t i = c * kChunk;
    add_chunk(a + i, b + i, out + i, std::min(kChunk, n - i));
  }
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < num_chunks(n); ++c) {
    const int64_t i = c * kChunk;
    axpy_chunk(alpha, x + i, y + i, std::min(kChunk, n - i));
  }
}

void scale(float* x, float alpha, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t c = 0; c < num_chunks(n); ++c) {
    const int64_t i = c * kChunk;
    scale_chunk(x + i, alpha, std::min(kChunk, n - i));
  }
}

double sum_squares(const float* x, int64_t n) {
  double total = 0.0;
#pragma omp parallel for schedule(static) if (n >= kParallelMin) reduction(+ : total)
  for (int64_t c = 0; c < num_chunks(n); ++c) {
    const int64_t i = c * kChunk;
    total += sum_squares_chunk(x + i, std::min(kChunk, n - i));
  }
  return total;
}

}  // namespace cipherlora
