#include "he/combined_secret.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <vector>

#include "common/error.h"
#include "tensor/int8_gemm.h"

namespace cipherlora {

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

// op(W)ᵀ + 128 as u8 [m, K]: wq itself forward, wq transposed backward (in 64 × 64 blocks).
std::vector<uint8_t> shifted_weight_rows(const int8_t* wq, int64_t K, int64_t m, bool forward) {
  std::vector<uint8_t> a(m * K);
  if (forward) {
    for (int64_t i = 0; i < m * K; ++i) a[i] = static_cast<uint8_t>(wq[i] + 128);
    return a;
  }
  constexpr int64_t kBlock = 64;  // wq [K, m] -> a [m, K]
  for (int64_t k0 = 0; k0 < K; k0 += kBlock)
    for (int64_t j0 = 0; j0 < m; j0 += kBlock)
      for (int64_t k = k0; k < std::min(k0 + kBlock, K); ++k)
        for (int64_t j = j0; j < std::min(j0 + kBlock, m); ++j)
          a[j * K + k] = static_cast<uint8_t>(wq[k * m + j] + 128);
  return a;
}

}  // namespace

// One u8 × s8 GEMM per block of output columns, straight into the result's layout:
// C [rows, N] = (op(W)ᵀ + 128) · S with the secrets S [K, N] as they are stored, then
// s'_j = C_j − 128·Σ_k s_k; each block's rows are measured (norm, range) and stored as they come.
CombinedSecrets combined_secrets(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                 const int8_t* secrets, int64_t N) {
  const int64_t K = forward ? in : out, m = forward ? out : in;
  require(K <= kMaxExactK, "combined secrets: K = " + std::to_string(K) + " is too long");
  const std::vector<uint8_t> a = shifted_weight_rows(wq, K, m, forward);
  std::vector<int32_t> column_sum(N, 0);  // Σ_k s_k[i], secret-derived
  for (int64_t k = 0; k < K; ++k)
    for (int64_t i = 0; i < N; ++i) column_sum[i] += secrets[k * N + i];

  CombinedSecrets result;
  constexpr int64_t kRows = 32;  // output columns per GEMM: 256 KB of int32 at N = 2048
  const int64_t blocks = (m + kRows - 1) / kRows;
  const Int8Kernel kernel = best_int8_kernel();
  for (bool narrow = combined_secret_max_bound(wq, out, in, forward, N) < 32768;; narrow = false) {
    if (narrow)
      result.narrow = LargeVector<int16_t>(m * N);
    else
      result.wide = LargeVector<int32_t>(m * N);
    double largest = 0;  // max_j ‖s'_j‖₂²
    bool fits = true;    // every value within int16 (no early exit)
    std::exception_ptr failure;
#pragma omp parallel reduction(max : largest) reduction(&& : fits)
    {
      std::vector<int32_t> c(kRows * N);
#pragma omp for schedule(static)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t j0 = b * kRows, rows = std::min(kRows, m - j0);
        try {
          gemm_u8s8s32(kernel, rows, N, K, a.data() + j0 * K, K, secrets, N, /*trans_b=*/false,
                       c.data(), N);
        } catch (...) {
#pragma omp critical(combined_secrets_failure)
          failure = std::current_exception();
          continue;
        }
        for (int64_t r = 0; r < rows; ++r) {
          double norm = 0;
          for (int64_t i = 0; i < N; ++i) {
            const int32_t v = c[r * N + i] - 128 * column_sum[i];
            norm += static_cast<double>(v) * v;
            fits = fits && v >= -32768 && v <= 32767;
            if (narrow)
              result.narrow[(j0 + r) * N + i] = static_cast<int16_t>(v);
            else
              result.wide[(j0 + r) * N + i] = v;
          }
          largest = std::max(largest, norm);
        }
      }
      sodium_memzero(c.data(), c.size() * sizeof(int32_t));
    }
    if (failure) {
      sodium_memzero(column_sum.data(), column_sum.size() * sizeof(int32_t));
      std::rethrow_exception(failure);
    }
    if (narrow && !fits) {  // the 2^-64 event: keep them as int32 instead
      sodium_memzero(result.narrow.data(), result.narrow.size() * sizeof(int16_t));
      LargeVector<int16_t>().swap(result.narrow);
      continue;
    }
    result.l2_bound = combined_secret_l2_bound(wq, out, in, forward, std::sqrt(largest), N);
    break;
  }
  sodium_memzero(column_sum.data(), column_sum.size() * sizeof(int32_t));
  return result;
}

double combined_secret_l2_bound(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                double largest_norm, int64_t N) {
  const ColumnNorms norms = largest_column_norms(wq, out, in, forward);
  const double rms_bound = 2 * std::sqrt(2.0 * static_cast<double>(N) / 3 * norms.l2_squared);
  if (largest_norm <= rms_bound) return rms_bound;
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

}  // namespace cipherlora
