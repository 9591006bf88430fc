// The secrets that decrypt a product's output columns: when input column k is encrypted under its
// own secret s_k (column_client.h), output column j = Σ_k W[k,j]·(column k) is encrypted under
// s'_j = Σ_k W[k,j]·s_k. The client computes these once per weight and direction (they depend on
// the secrets and the public weight, not on the data) with exact int8 matrix products, and keeps
// them as int16 where a public bound allows it (half the memory, half the bytes each decryption
// reads), else as int32.
//
//   // secrets [K][N] in {-1, 0, 1}; wq [out, in]; forward: K = in, m = out
//   const CombinedSecrets s = combined_secrets(wq, out, in, /*forward=*/true, secrets, N);
//   // s.narrow or s.wide [m][N]: row j = Σ_k op(W)[k, j] · s_k;  s.l2_bound >= every ‖s'_j‖₂
#pragma once

#include <cstdint>

#include "common/aligned_allocator.h"
#include "he/column_plan.h"

namespace cipherlora {

struct CombinedSecrets {
  LargeVector<int16_t> narrow;  // [m][N] when combined_secret_max_bound() < 2^15 and all fit
  LargeVector<int32_t> wide;    // [m][N] otherwise (exactly one of the two is filled)
  double l2_bound = 0;          // combined_secret_l2_bound() of the values' largest norm
  bool empty() const { return narrow.empty() && wide.empty(); }
};

// wq: [out, in] int8 (Hugging Face layout). op(W) is wqᵀ [in, out] forward, wq [out, in]
// backward. secrets: [K][N] with K the rows of op(W) (exact: |entry| <= 127·K < 2^31 for K <=
// kMaxExactK). Parallel over the output columns; the buffers that held secret-derived values are
// wiped. The int16 form is taken only where the public bound allows it; should a value exceed the
// bound anyway (probability 2^-64 for uniform ternary secrets), the values are kept as int32.
CombinedSecrets combined_secrets(const int8_t* wq, int64_t out, int64_t in, bool forward,
                                 const int8_t* secrets, int64_t N);

// A bound on ‖s'_j‖₂ over the columns that depends only on the public weight (its norms,
// largest_column_norms()), so that what is built from it (the limbs of the client's FFT products)
// says nothing about the secrets: twice the root-mean-square norm, 2·√(2N/3)·max_j ‖op(W)_j‖₂, if
// largest_norm (the actual max_j ‖s'_j‖₂) is within it. For uniform ternary secrets E‖s'_j‖₂² =
// (2/3)·N·‖op(W)_j‖₂², a sum of N independent terms that exceeds four times its mean with
// negligible probability; should a column do so anyway, the bound is the worst case √N·max_j
// ‖op(W)_j‖₁, which always holds.
double combined_secret_l2_bound(const WeightNorms& norms, double largest_norm, int64_t N);

// A bound on |s'_j[c]| over every coefficient of every column that depends only on the public
// weight and holds except with probability 2^-64 over the secrets: s'_j[c] = Σ_k op(W)[k,j]·s_k[c]
// is a sum of independent terms in [−|W|, |W|] with mean 0, so by Hoeffding's inequality and a
// union bound over the m·N coefficients it exceeds t with probability at most
// 2·m·N·exp(−t²/(2·max_j ‖op(W)_j‖₂²)); the bound is the t that makes this 2^-64. m: the columns
// of op(W).
double combined_secret_max_bound(const WeightNorms& norms, int64_t m, int64_t N);

}  // namespace cipherlora
