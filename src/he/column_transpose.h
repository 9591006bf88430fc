// The client's transposes between the token-major matrices of the linear backend and its
// column-per-ciphertext layout: x [T, K] -> one row of T tokens per column k (encryption), and
// per-column results -> y [T, m] (decryption). Both matrices are far larger than the caches. On
// AVX-512 both move square blocks through registers (16×16 32-bit words, 8×8 64-bit words) so that
// each row of x or y is touched one whole cache line at a time; the scatter writes y (once) with
// streaming stores. The portable path moves one word at a time.
//
//   gather_columns(x, T, K, k0, kn, xt, ldt);     // xt[i·ldt + t] = x[t·K + k0 + i]
//   scatter_columns(v, ldv, T, jn, y, m, j0);     // y[t·m + j0 + i] = v[i·ldv + t]
#pragma once

#include <cstdint>

namespace cipherlora {

enum class TransposeKernel { kBest, kPortable };

// xt[i·ldt + t] = x[t·ld + k0 + i] for t < T, i < kn. x: [T, ld] row-major, of 32-bit or 8-bit
// values (8-bit activations: a quarter of the bytes to read).
void gather_columns(const int32_t* x, int64_t T, int64_t ld, int64_t k0, int64_t kn, int32_t* xt,
                    int64_t ldt, TransposeKernel kernel = TransposeKernel::kBest);
void gather_columns(const int8_t* x, int64_t T, int64_t ld, int64_t k0, int64_t kn, int32_t* xt,
                    int64_t ldt, TransposeKernel kernel = TransposeKernel::kBest);

// y[t·ld + j0 + i] = v[i·ldv + t] for t < T, i < jn. y: [T, ld] row-major. Streaming stores
// bypass the caches where rows allow it; they are fenced before returning.
void scatter_columns(const int64_t* v, int64_t ldv, int64_t T, int64_t jn, int64_t* y, int64_t ld,
                     int64_t j0, TransposeKernel kernel = TransposeKernel::kBest);
// The same for int32 values, products known to fit 32 bits: half the bytes to move.
void scatter_columns(const int32_t* v, int64_t ldv, int64_t T, int64_t jn, int32_t* y, int64_t ld,
                     int64_t j0, TransposeKernel kernel = TransposeKernel::kBest);

}  // namespace cipherlora
