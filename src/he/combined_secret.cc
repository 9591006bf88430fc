#include "he/combined_secret.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <vector>

#include "common/error.h"
#include "he/mod2k_gemm.h"
#include "tensor/int8_gemm.h"

namespace cipherlora {

namespace {

// Rows of s' from a block's GEMM output c [rows, N] (before the correction): dst [rows, N] =
// c − 128·Σ_k s_k, measured on the way.
struct RowStats {
  double largest = 0;  // max ‖s'_j‖₂² over the rows
  bool fits = true;    // every value within int16 (no early exit)
};
template <class T>
RowStats store_rows(const int32_t* c, const int32_t* column_sum, int64_t rows, int64_t N, T* dst) {
  RowStats stats;
  for (int64_t r = 0; r < rows; ++r) {
    double norm = 0;
    for (int64_t i = 0; i < N; ++i) {
      const int32_t v = c[r * N + i] - 128 * column_sum[i];
      norm += static_cast<double>(v) * v;
      stats.fits &= v >= -32768 && v <= 32767;
      dst[r * N + i] = static_cast<T>(v);
    }
    stats.largest = std::max(stats.largest, norm);
  }
  return stats;
}

// s' [m, N] into dst, one u8 × s8 GEMM per block of output columns on the threads:
// C [rows, N] = W'[rows, K] · S with the secrets S [K, N] as they are stored.
template <class T>
RowStats fill(const std::vector<uint8_t>& w_rows, const int8_t* secrets,
              const std::vector<int32_t>& column_sum, int64_t K, int64_t m, int64_t N, T* dst) {
  constexpr int64_t kRows = 32;  // output columns per GEMM: 256 KB of int32 at N = 2048
  const int64_t blocks = (m + kRows - 1) / kRows;
  const Int8Kernel kernel = best_int8_kernel();
  double largest = 0;
  bool fits = true;
  std::exception_ptr failure;
#pragma omp parallel reduction(max : largest) reduction(&& : fits)
  {
    std::vector<int32_t> c(kRows * N);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t j0 = b * kRows, rows = std::min(kRows, m - j0);
      try {
        gemm_u8s8s32(kernel, rows, N, K, w_rows.data() + j0 * K, K, secrets, N,
                     /*trans_b=*/false, c.data(), N);
      } catch (...) {
#pragma omp critical(combined_secrets_failure)
        failure = std::current_exception();
        continue;
      }
      const RowStats block = store_rows(c.data(), column_sum.data(), rows, N, dst + j0 * N);
      largest = std::max(largest, block.largest);
      fits = fits && block.fits;
    }
    sodium_memzero(c.data(), c.size() * sizeof(int32_t));
  }
  if (failure) std::rethrow_exception(failure);
  return {largest, fits};
}

}  // namespace

// s'_j = Σ_k op(W)[k, j]·s_k = (W'·S)_j − 128·Σ_k s_k with W' = op(W)ᵀ + 128 (u8) and the
// secrets S as stored: no transposes, and each block written straight into its final width.
CombinedSecrets combined_secrets(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                 const int8_t* secrets, int64_t N) {
  const int64_t K = forward ? in : out, m = forward ? out : in;
  require(K <= kMaxExactK, "combined secrets: K = " + std::to_string(K) + " is too long");
  std::vector<uint8_t> w_rows(m * K);
  shifted_weight_rows(wq, K, m, /*trans_w=*/forward, 0, K, w_rows.data());
  std::vector<int32_t> column_sum(N, 0);  // Σ_k s_k[i], secret-derived
  for (int64_t k = 0; k < K; ++k)
    for (int64_t i = 0; i < N; ++i) column_sum[i] += secrets[k * N + i];
  const WeightNorms norms = largest_column_norms(wq, out, in, forward);

  CombinedSecrets result;
  RowStats stats;
  try {
    if (combined_secret_max_bound(norms, m, N) < 32768) {
      result.narrow = LargeVector<int16_t>(m * N);
      stats = fill(w_rows, secrets, column_sum, K, m, N, result.narrow.data());
      if (!stats.fits) {  // the 2^-64 event: keep them as int32 instead
        sodium_memzero(result.narrow.data(), result.narrow.size() * sizeof(int16_t));
        LargeVector<int16_t>().swap(result.narrow);
      }
    }
    if (result.narrow.empty()) {
      result.wide = LargeVector<int32_t>(m * N);
      stats = fill(w_rows, secrets, column_sum, K, m, N, result.wide.data());
    }
  } catch (...) {
    sodium_memzero(column_sum.data(), column_sum.size() * sizeof(int32_t));
    throw;
  }
  sodium_memzero(column_sum.data(), column_sum.size() * sizeof(int32_t));
  result.l2_bound = combined_secret_l2_bound(norms, std::sqrt(stats.largest), N);
  return result;
}

double combined_secret_l2_bound(const WeightNorms& norms, double largest_norm, int64_t N) {
  const double rms_bound = 2 * std::sqrt(2.0 * static_cast<double>(N) / 3 * norms.l2_squared);
  if (largest_norm <= rms_bound) return rms_bound;
  return std::sqrt(static_cast<double>(N)) * norms.l1;
}

double combined_secret_max_bound(const WeightNorms& norms, int64_t m, int64_t N) {
  // 2·m·N·exp(−t²/(2L)) = 2^-64  <=>  t² = 2L·(ln(2·m·N) + 64·ln 2)
  const double log_terms = std::log(2.0 * static_cast<double>(m) * static_cast<double>(N));
  return std::sqrt(2 * norms.l2_squared * (log_terms + 64 * std::log(2.0)));
}

}  // namespace cipherlora
