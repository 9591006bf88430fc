// The client's transposes between the token-major matrices of the linear backend and its
// column-per-ciphertext layout: x [T, K] -> one row of T tokens per column k (encryption), and
// per-column results -> y [T, m] (decryption). Both matrices are far larger than the caches: the
// gather reads 8 tokens at a time with prefetching, the scatter writes y (once) with streaming
// stores.
//
//   gather_columns(x, T, K, k0, kn, xt, ldt);     // xt[i·ldt + t] = x[t·K + k0 + i]
//   scatter_columns(v, ldv, T, jn, y, m, j0);     // y[t·m + j0 + i] = v[i·ldv + t]
#pragma once

#include <cstdint>

namespace cipherlora {

// xt[i·ldt + t] = x[t·ld + k0 + i] for t < T, i < kn. x: [T, ld] row-major.
void gather_columns(const int32_t* x, int64_t T, int64_t ld, int64_t k0, int64_t kn, int32_t* xt,
                    int64_t ldt);

// y[t·ld + j0 + i] = v[i·ldv + t] for t < T, i < jn. y: [T, ld] row-major. Streaming stores
// bypass the caches where rows allow it; they are fenced before returning.
void scatter_columns(const int64_t* v, int64_t ldv, int64_t T, int64_t jn, int64_t* y, int64_t ld,
                     int64_t j0);

}  // namespace cipherlora
