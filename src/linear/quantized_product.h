// The zero-point-corrected integer product of per-token quantized activations with an int8
// matrix, and its dequantization: the whole of what the `quantized` backend computes after
// quantizing (and what the `encrypted` backend's client recovers after decrypting).
//
//   acc[t, n] = Σ_k q[t,k] · op(B)[k,n]  −  zp[t] · bsum[n]          (exact, int64)
//             = Σ_k (q[t,k] − zp[t]) · op(B)[k,n]
//   y[t, n]   = dequantize(acc[t,n], scale[t], col_scale[n] or 1)    (quantizer.h)
//
// q = q_hi·256 + q_lo is held as byte limbs so each limb is one u8 × s8 -> s32 product
// (int8_gemm.h): n_bits <= 8 needs one product, 9..16 bits two, combined in int64. Sums longer
// than kMaxExactK are split into chunks whose int32 results are added in int64. With n_bits <= 8
// and one chunk, acc itself fits int32 (|q − zp| <= 255), so the epilogue stays in int32.
//
//   QuantizedTokens a{T, K, n_bits, q_lo, q_hi, scale, zp};
//   Int8Operand w{wq, K, N, /*trans=*/true, row_sum, w_scale};   // op(B) = Wqᵀ, Wq [N, K]
//   quantized_product(best_int8_kernel(), a, w, buffers, y);     // y [T, N]
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/int8_gemm.h"

namespace cipherlora {

// The longest sum supported: it keeps the int32 column sums exact (127·K < 2^31) and acc exact
// as a double (65535·127·K < 2^47 < 2^53).
constexpr int64_t kMaxProductK = int64_t{1} << 24;

// Activations quantized per token (quantize_per_token_bytes).
struct QuantizedTokens {
  int64_t T = 0, K = 0;
  int n_bits = 8;
  const uint8_t* q_lo = nullptr;  // [T, K]
  const uint8_t* q_hi = nullptr;  // [T, K]; nullptr when n_bits <= 8
  const float* scale = nullptr;   // [T]
  const int32_t* zp = nullptr;    // [T]
};

// The int8 right-hand side op(B) [K, N]: B stored [N, K] when trans, else [K, N] (dense).
struct Int8Operand {
  const int8_t* data = nullptr;
  int64_t K = 0, N = 0;
  bool trans = false;
  const int32_t* sum = nullptr;      // [N]  Σ_k op(B)[k, n], for the zero-point correction
  const float* col_scale = nullptr;  // [N]  per-column dequantization scale, or nullptr (= 1)
};

// Scratch space reused across calls; grows to the largest product seen and never shrinks.
struct QuantizedProductBuffers {
  std::vector<int32_t> c_lo, c_hi;  // [T, N] s32 products of each limb (of one K chunk)
  std::vector<int64_t> c_wide;      // [T, N] limbs combined and chunks summed, when K > kMaxExactK
};

// Σ_k op(B)[k, n] for B [N, K] (trans) or [K, N]: sum [N].
void int8_column_sums(const int8_t* B, int64_t K, int64_t N, bool trans, int32_t* sum);

// acc [T, N] = the exact integer product above.
void quantized_product_exact(Int8Kernel kernel, const QuantizedTokens& a, const Int8Operand& b,
                             QuantizedProductBuffers& buffers, int64_t* acc);

// y [T, N] = dequantize(acc [T, N] + shift [T] ⊗ sum [N], row_scale [T], col_scale [N] or 1):
// the epilogue of quantized_product() for products computed elsewhere (the encrypted backend),
// from activations centred at c instead of their zero points: shift[t] = c − zp[t] folds the
// zero point back in here rather than in a pass of its own. Acc is int32_t or int64_t.
template <class Acc>
void dequantize_rows_shifted(const Acc* acc, int64_t T, int64_t N, const int32_t* shift,
                             const int32_t* sum, const float* row_scale, const float* col_scale,
                             float* y);

// y [T, N] = the dequantized product above (overwritten).
void quantized_product(Int8Kernel kernel, const QuantizedTokens& a, const Int8Operand& b,
                       QuantizedProductBuffers& buffers, float* y);

}  // namespace cipherlora
