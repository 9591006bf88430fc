#include "he/combined_secret.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "common/error.h"
#include "tensor/int8_gemm.h"

namespace cipherlora {

LargeVector<int32_t> combined_secrets(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                      const int8_t* secrets, int64_t n) {
  const int64_t K = forward ? in : out, m = forward ? out : in;
  require(K <= kMaxExactK, "combined secrets: K = " + std::to_string(K) + " is too long");
  // u8 × s8 GEMM: shift the secrets to s + 1 in {0, 1, 2}, then subtract Σ_k op(W)[k, j].
  // st [N, K] = (s + 1)ᵀ;  C [N, m] = st · op(W)  (op(W) [K, m] is wqᵀ forward, wq backward).
  std::vector<uint8_t> st(n * K);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t i = 0; i < n; ++i) st[i * K + k] = static_cast<uint8_t>(secrets[k * n + i] + 1);
  std::vector<int32_t> c(n * m);
  gemm_u8s8s32(best_int8_kernel(), n, m, K, st.data(), K, wq, in,
               /*trans_b=*/forward, c.data(), m);
  sodium_memzero(st.data(), st.size());
  std::vector<int32_t> sum(m, 0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) sum[forward ? o : i] += wq[o * in + i];
  LargeVector<int32_t> result(m * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) result[j * n + i] = c[i * m + j] - sum[j];
  sodium_memzero(c.data(), c.size() * sizeof(int32_t));
  return result;
}

namespace {

// max_j ‖op(W)_j‖₂² and max_j ‖op(W)_j‖₁ over the columns of op(W) (the rows of wq forward).
struct ColumnNorms {
  double l1 = 0, l2_squared = 0;
};
ColumnNorms largest_column_norms(const int8_t* wq, int64_t out, int64_t in, bool forward) {
  const int64_t m = forward ? out : in;
  std::vector<double> l1(m, 0), l2(m, 0);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t i = 0; i < in; ++i) {
      const double w = wq[o * in + i];
      l1[forward ? o : i] += std::abs(w);
      l2[forward ? o : i] += w * w;
    }
  return {*std::max_element(l1.begin(), l1.end()), *std::max_element(l2.begin(), l2.end())};
}

}  // namespace

double combined_secret_l2_bound(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                const int32_t* combined, int64_t N) {
  const int64_t m = forward ? out : in;
  const ColumnNorms norms = largest_column_norms(wq, out, in, forward);
  const double rms_bound = 2 * std::sqrt(2.0 * static_cast<double>(N) / 3 * norms.l2_squared);
  double largest = 0;  // max_j ‖s'_j‖₂², no early exit
  for (int64_t j = 0; j < m; ++j) {
    double sum = 0;
    for (int64_t t = 0; t < N; ++t) {
      const double v = combined[j * N + t];
      sum += v * v;
    }
    largest = std::max(largest, sum);
  }
  if (std::sqrt(largest) <= rms_bound) return rms_bound;
  return std::sqrt(static_cast<double>(N)) * norms.l1;
}

double combined_secret_max_bound(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                 int64_t N) {
  const int64_t m = forward ? out : in;
  const double l2_squared = largest_column_norms(wq, out, in, forward).l2_squared;
  // 2·m·N·exp(−t²/(2L)) = 2^-64  <=>  t² = 2L·(ln(2·m·N) + 64·ln 2)
  const double log_terms = std::log(2.0 * static_cast<double>(m) * static_cast<double>(N));
  return std::sqrt(2 * l2_squared * (log_terms + 64 * std::log(2.0)));
}

LargeVector<int16_t> narrow_combined_secrets(const LargeVector<int32_t>& combined,
                                             double max_bound) {
  if (max_bound > 32767) return {};
  bool fits = true;  // no early exit: the scan takes the same time whatever the values
  for (const int32_t v : combined) fits &= v >= -32768 && v <= 32767;
  if (!fits) return {};
  return LargeVector<int16_t>(combined.begin(), combined.end());
}

}  // namespace cipherlora
