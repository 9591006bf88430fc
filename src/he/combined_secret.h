// The secrets that decrypt a product's output columns: when input column k is encrypted under its
// own secret s_k (column_client.h), output column j = Σ_k W[k,j]·(column k) is encrypted under
// s'_j = Σ_k W[k,j]·s_k. The client computes these once per weight and direction (they depend on
// the secrets and the public weight, not on the data) with one exact int8 matrix product.
//
//   // secrets [K][N] in {-1, 0, 1}; wq [out, in]; forward: K = in, m = out
//   LargeVector<int32_t> s_out = combined_secrets(wq, out, in, /*forward=*/true, secrets, N);
//   // s_out [m][N]: row j = Σ_k op(W)[k, j] · s_k
#pragma once

#include <cstdint>
#include <vector>

#include "common/aligned_allocator.h"

namespace cipherlora {

// wq: [out, in] int8 (Hugging Face layout). op(W) is wqᵀ [in, out] forward, wq [out, in]
// backward. secrets: [K][N] with K the rows of op(W). Returns [m][N] int32 (exact: |entry| <=
// 127·K < 2^31 for K <= kMaxExactK). The buffers that held secret-derived values are wiped.
LargeVector<int32_t> combined_secrets(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                      const int8_t* secrets, int64_t n);

// A bound on ‖s'_j‖₂ over the columns of `combined` [m][N] (combined_secrets() of this weight and
// direction) that depends only on the public weight, so that what is built from it (the limbs of
// the client's FFT products) says nothing about the secrets: twice the root-mean-square norm,
// 2·√(2N/3)·max_j ‖op(W)_j‖₂. For uniform ternary secrets E‖s'_j‖₂² = (2/3)·N·‖op(W)_j‖₂², a
// sum of N independent terms that exceeds four times its mean with negligible probability; should
// a column do so anyway, the bound is the worst case √N·max_j ‖op(W)_j‖₁, which always holds.
double combined_secret_l2_bound(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                const int32_t* combined, int64_t N);

}  // namespace cipherlora
