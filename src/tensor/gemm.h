// The engine's one fp32 matrix product. Every dense product (linear layers, attention tiles, LoRA)
// goes through sgemm so that the choice of implementation is made in one place.
//
// Row-major, BLAS semantics:  C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C
// where op(X) is X or Xᵀ. With trans_a, A is stored [K, M] (lda >= M); otherwise [M, K]
// (lda >= K). With trans_b, B is stored [N, K] (ldb >= K); otherwise [K, N] (ldb >= N).
// When beta == 0, C is not read (NaNs in C are overwritten).
//
//   // Y[T, out] = X[T, in] · W[out, in]ᵀ
//   sgemm(false, true, T, out, in, 1.0f, X, in, W, in, 0.0f, Y, out);
//
// Threads: called outside an OpenMP parallel region it uses num_threads() threads; called inside
// one (e.g. per-head attention tiles) it runs single-threaded on the calling thread.
//
// Implementation: oneDNN's dnnl_sgemm (JIT kernels for the CPU's ISA). Measured on the 2-core
// AVX-512 development machine it matches OpenBLAS's Cooperlake/SkylakeX kernels (~190-210
// GFLOP/s at the engine's shapes) without a second BLAS dependency.
#pragma once

#include <cstdint>
#include <string>

namespace cipherlora {

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// Which implementation sgemm runs, e.g. "oneDNN 2.6.3 sgemm (avx512_core_bf16)".
std::string gemm_kernel_name();

}  // namespace cipherlora
