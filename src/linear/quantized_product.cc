#include "linear/quantized_product.h"

#include <algorithm>
#include <string>

#include "common/error.h"
#include "common/grow.h"
#include "linear/quantizer.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

void check_operands(const QuantizedTokens& a, const Int8Operand& b) {
  check_quant_bits(a.n_bits, "quantized product");
  require(a.K <= kMaxProductK, "quantized product: K=" + std::to_string(a.K) + " exceeds " +
                                   std::to_string(kMaxProductK));
  require(a.T >= 0 && a.K >= 0 && b.N >= 0 && a.K == b.K,
          "quantized product: activations have K=" + std::to_string(a.K) +
              " features but the int8 operand has K=" + std::to_string(b.K));
  require(a.n_bits <= 8 || a.q_hi != nullptr,
          "quantized product: " + std::to_string(a.n_bits) + "-bit activations need a high byte");
}

// The products before zero-point correction, raw[t,n] = Σ_k q[t,k]·op(B)[k,n], in one of three
// forms: int32 lo (n_bits <= 8, one K chunk); int32 limbs 256·hi + lo (9..16 bits, one chunk);
// int64 wide (several chunks, summed).
struct RawProduct {
  const int32_t* lo = nullptr;    // [T, N]
  const int32_t* hi = nullptr;    // [T, N]
  const int64_t* wide = nullptr;  // [T, N]
};

RawProduct raw_product(Int8Kernel kernel, const QuantizedTokens& a, const Int8Operand& b,
                       QuantizedProductBuffers& buf) {
  const int64_t T = a.T, N = b.N, K = a.K;
  const int64_t ldb = b.trans ? K : N;
  const bool two_limbs = a.n_bits > 8;
  grow(buf.c_lo, T * N);
  if (two_limbs) grow(buf.c_hi, T * N);
  int32_t* lo = buf.c_lo.data();
  int32_t* hi = two_limbs ? buf.c_hi.data() : nullptr;
  if (K <= kMaxExactK) {
    gemm_u8s8s32(kernel, T, N, K, a.q_lo, K, b.data, ldb, b.trans, lo, N);
    if (hi) gemm_u8s8s32(kernel, T, N, K, a.q_hi, K, b.data, ldb, b.trans, hi, N);
    return {lo, hi, nullptr};
  }
  grow(buf.c_wide, T * N);
  int64_t* wide = buf.c_wide.data();
  for (int64_t k0 = 0; k0 < K; k0 += kMaxExactK) {
    const int64_t kc = std::min(kMaxExactK, K - k0);
    const int8_t* bk = b.trans ? b.data + k0 : b.data + k0 * N;
    gemm_u8s8s32(kernel, T, N, kc, a.q_lo + k0, K, bk, ldb, b.trans, lo, N);
    if (hi) gemm_u8s8s32(kernel, T, N, kc, a.q_hi + k0, K, bk, ldb, b.trans, hi, N);
    const bool first = k0 == 0;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t i = t * N; i < (t + 1) * N; ++i) {
        const int64_t v = (hi ? 256 * static_cast<int64_t>(hi[i]) : 0) + lo[i];
        wide[i] = first ? v : wide[i] + v;
      }
    }
  }
  return {nullptr, nullptr, wide};
}

// For each token row t, calls emit(t, acc_at) where acc_at(n) = raw[t,n] − zp[t]·sum[n].
// With one int32 limb the subtraction stays in int32: raw and zp·sum are each at most
// 255·127·K < 2^31, and so is their difference Σ_k (q − zp)·b since |q − zp| <= 255.
template <class Emit>
void for_each_acc_row(const RawProduct& raw, const QuantizedTokens& a, const Int8Operand& b,
                      Emit emit) {
  const int64_t N = b.N;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < a.T; ++t) {
    const int32_t zp = a.zp[t];
    const int64_t zp64 = zp;
    if (raw.wide) {
      const int64_t* w = raw.wide + t * N;
      emit(t, [&](int64_t n) { return w[n] - zp64 * b.sum[n]; });
    } else if (raw.hi) {
      const int32_t* lo = raw.lo + t * N;
      const int32_t* hi = raw.hi + t * N;
      emit(t,
           [&](int64_t n) { return 256 * static_cast<int64_t>(hi[n]) + lo[n] - zp64 * b.sum[n]; });
    } else {
      const int32_t* lo = raw.lo + t * N;
      emit(t, [&](int64_t n) { return lo[n] - zp * b.sum[n]; });
    }
  }
}

// y[n] = dequantize(acc_at(n), row_scale, col_scale[n] or 1) for one token row.
template <class AccAt>
CIPHERLORA_VECTOR_CLONES void dequantize_row(AccAt acc_at, int64_t N, float row_scale,
                                             const float* col_scale, float* y) {
  if (col_scale) {
    for (int64_t n = 0; n < N; ++n) y[n] = dequantize(acc_at(n), row_scale, col_scale[n]);
  } else {
    for (int64_t n = 0; n < N; ++n) y[n] = dequantize(acc_at(n), row_scale, 1.0f);
  }
}

}  // namespace

void int8_column_sums(const int8_t* B, int64_t K, int64_t N, bool trans, int32_t* sum) {
  if (trans) {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      int32_t s = 0;
      for (int64_t k = 0; k < K; ++k) s += B[n * K + k];
      sum[n] = s;
    }
  } else {
    std::fill(sum, sum + N, 0);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) sum[n] += B[k * N + n];
  }
}

void quantized_product_exact(Int8Kernel kernel, const QuantizedTokens& a, const Int8Operand& b,
                             QuantizedProductBuffers& buffers, int64_t* acc) {
  check_operands(a, b);
  const RawProduct raw = raw_product(kernel, a, b, buffers);
  const int64_t N = b.N;
  for_each_acc_row(raw, a, b, [&](int64_t t, auto acc_at) {
    for (int64_t n = 0; n < N; ++n) acc[t * N + n] = acc_at(n);
  });
}

template <class Acc>
void dequantize_rows_shifted(const Acc* acc, int64_t T, int64_t N, const int32_t* shift,
                             const int32_t* sum, const float* row_scale, const float* col_scale,
                             float* y) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const Acc* row = acc + t * N;
    const int64_t s = shift[t];
    dequantize_row([row, s, sum](int64_t n) { return int64_t{row[n]} + s * sum[n]; }, N,
                   row_scale[t], col_scale, y + t * N);
  }
}

template void dequantize_rows_shifted(const int32_t*, int64_t, int64_t, const int32_t*,
                                      const int32_t*, const float*, const float*, float*);
template void dequantize_rows_shifted(const int64_t*, int64_t, int64_t, const int32_t*,
                                      const int32_t*, const float*, const float*, float*);

void quantized_product(Int8Kernel kernel, const QuantizedTokens& a, const Int8Operand& b,
                       QuantizedProductBuffers& buffers, float* y) {
  check_operands(a, b);
  const RawProduct raw = raw_product(kernel, a, b, buffers);
  const int64_t N = b.N;
  for_each_acc_row(raw, a, b, [&](int64_t t, auto acc_at) {
    dequantize_row(acc_at, N, a.scale[t], b.col_scale, y + t * N);
  });
}

}  // namespace cipherlora
