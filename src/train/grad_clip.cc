#include "train/grad_clip.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "tensor/elementwise.h"

namespace cipherlora {

namespace {

// The summation order depends only on these constants, never on the thread count.
constexpr int64_t kChunk = 1 << 14;  // values per partial sum
constexpr int kLanes = 8;            // independent accumulators inside a chunk (vectorizable)

// Σ x² over x: [n] (n <= kChunk): value i goes to lane i % kLanes, lanes are added pairwise.
double chunk_sum_squares(const float* x, int64_t n) {
  double lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] += static_cast<double>(x[i + k]) * x[i + k];
  for (int k = 0; i < n; ++i, ++k) lane[k] += static_cast<double>(x[i]) * x[i];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

struct Chunk {
  const float* data;
  int64_t n;
};

double norm_of(const std::vector<std::span<const float>>& grads) {
  std::vector<Chunk> chunks;
  for (std::span<const float> g : grads)
    for (int64_t i = 0; i < static_cast<int64_t>(g.size()); i += kChunk)
      chunks.push_back({g.data() + i, std::min(kChunk, static_cast<int64_t>(g.size()) - i)});
  const auto n_chunks = static_cast<int64_t>(chunks.size());
  std::vector<double> partial(chunks.size());
#pragma omp parallel for schedule(static) if (n_chunks >= 4)
  for (int64_t c = 0; c < n_chunks; ++c)
    partial[c] = chunk_sum_squares(chunks[c].data, chunks[c].n);
  double total = 0.0;
  for (double p : partial) total += p;  // in chunk order: the deterministic part
  return std::sqrt(total);
}

}  // namespace

double global_grad_norm(const std::vector<std::span<const float>>& grads) {
  return norm_of(grads);
}

double global_grad_norm(const std::vector<std::span<float>>& grads) {
  return norm_of(std::vector<std::span<const float>>(grads.begin(), grads.end()));
}

double clip_grad_norm(const std::vector<std::span<float>>& grads, double max_norm) {
  require(max_norm > 0.0, "max gradient norm must be > 0, got " + std::to_string(max_norm));
  const double norm = global_grad_norm(grads);
  // torch: clip_coef = max_norm / (total_norm + 1e-6) on an fp32 tensor, which Tensor.__rtruediv__
  // computes as reciprocal(total_norm + 1e-6) * max_norm; then clamp(max=1.0).
  const float coef = (1.0f / (static_cast<float>(norm) + 1e-6f)) * static_cast<float>(max_norm);
  if (coef >= 1.0f) return norm;  // multiplying by 1 changes nothing
  for (std::span<float> g : grads) scale(g.data(), coef, static_cast<int64_t>(g.size()));
  return norm;
}

}  // namespace cipherlora
