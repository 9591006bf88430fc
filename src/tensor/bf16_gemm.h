// bfloat16 products for the frozen base in `--base-precision bf16`: fp32 values are rounded to
// bf16 (the top 16 bits of an fp32, 8 significant bits) and multiplied with fp32 accumulation and
// fp32 output. On CPUs with AVX512_BF16 (or AMX) this runs about twice as fast as sgemm at the
// engine's shapes, because a bf16 dot-product instruction does twice the multiply-adds of an fp32
// FMA. Products of two bf16 values are exact in fp32, so the only error beyond rounding the
// inputs is fp32 accumulation.
//
//   std::vector<uint16_t> xb(T * in), wb(out * in);
//   round_to_bf16(x, T * in, xb.data());
//   round_to_bf16(w, out * in, wb.data());
//   // y[T, out] = x[T, in] · W[out, in]ᵀ
//   bf16_gemm(false, true, T, out, in, xb.data(), in, wb.data(), in, y, out);
//
// bf16 values travel as their raw uint16_t bit patterns (as in formats/half.h).
#pragma once

#include <cstdint>
#include <string>

namespace cipherlora {

// dst[i] = src[i] rounded to the nearest bf16, ties to even. Overflow rounds to ±inf, subnormals
// round like any other value (no flush to zero), a NaN stays a NaN (quiet, sign and top payload
// kept). Bit-identical on every CPU (integer arithmetic only); n may be 0.
void round_to_bf16(const float* src, int64_t n, uint16_t* dst);

// C[M,N] = op(A)[M,K] · op(B)[K,N] with A and B in bf16 and C in fp32, overwritten (not read, so
// NaNs in C do not matter). Row-major with leading dimensions, as sgemm in tensor/gemm.h: with
// trans_a, A is stored [K, M] (lda >= M), else [M, K] (lda >= K); with trans_b, B is stored
// [N, K] (ldb >= K), else [K, N] (ldb >= N). K == 0 gives C = 0.
//
// Implementation: oneDNN's matmul primitive, one per shape and thread count, built on first use
// and cached (a lookup afterwards). Threads as sgemm: num_threads() outside an OpenMP parallel
// region. oneDNN's bf16 dot products treat subnormal bf16 inputs as zero on AVX512_BF16, so
// values below 2^-126 in magnitude contribute nothing; the engine's activations never get there.
// Without native bf16 (see bf16_gemm_is_native), the operands are widened to fp32 and multiplied
// with sgemm instead: the same result up to summation order, at fp32 speed or a little below.
void bf16_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const uint16_t* A,
               int64_t lda, const uint16_t* B, int64_t ldb, float* C, int64_t ldc);

// Which implementation runs a typical shape, e.g. "oneDNN 2.6.3 bf16 matmul
// (brg:avx512_core_bf16)", or a note that the fp32 fallback runs.
std::string bf16_gemm_kernel_name();

// True when oneDNN's bf16 matmul for a typical shape uses native bf16 instructions
// (AVX512_BF16 or AMX). Otherwise bf16 gains nothing here: its products run as fp32 sgemm on
// widened operands, plus the cost of rounding and widening. Computed once.
bool bf16_gemm_is_native();

}  // namespace cipherlora
