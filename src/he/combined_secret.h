// The secrets that decrypt a product's output columns: when input column k is encrypted under its
// own secret s_k (column_client.h), output column j = Σ_k W[k,j]·(column k) is encrypted under
// s'_j = Σ_k W[k,j]·s_k. The client computes these once per weight and direction (they depend on
// the secrets and the public weight, not on the data) with one exact int8 matrix product.
//
//   // secrets [K][N] in {-1, 0, 1}; wq [out, in]; forward: K = in, m = out
//   LargeVector<int32_t> s_out = combined_secrets(wq, out, in, /*forward=*/true, secrets, N);
//   // s_out [m][N]: row j = Σ_k op(W)[k, j] · s_k
//   LargeVector<int16_t> narrow = narrow_combined_secrets(
//       s_out, combined_secret_max_bound(wq, out, in, true, N));   // empty: keep s_out
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

// A bound on |s'_j[c]| over every coefficient of every column that depends only on the public
// weight and holds except with probability 2^-64 over the secrets: s'_j[c] = Σ_k op(W)[k,j]·s_k[c]
// is a sum of independent terms in [−|W|, |W|] with mean 0, so by Hoeffding's inequality and a
// union bound over the m·N coefficients it exceeds t with probability at most
// 2·m·N·exp(−t²/(2·max_j ‖op(W)_j‖₂²)); the bound is the t that makes this 2^-64.
double combined_secret_max_bound(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                 int64_t N);

// combined as int16, half the memory and half the bytes each decryption reads, when max_bound
// (combined_secret_max_bound()) is below 2^15 and every value fits; empty otherwise. Narrowing only
// where the public bound allows it keeps the choice independent of the secrets except in the
// 2^-64 event that a value breaks the bound (then the values stay int32).
LargeVector<int16_t> narrow_combined_secrets(const LargeVector<int32_t>& combined,
                                             double max_bound);

}  // namespace cipherlora
