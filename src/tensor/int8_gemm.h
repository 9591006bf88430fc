// Exact integer matrix products u8 × s8 -> s32, the arithmetic core of the quantized (and later
// encrypted) linear backends. Two kernels compute the same integers:
//   - portable: blocked C++ loops with OpenMP, on any CPU;
//   - oneDNN:   the matmul primitive on the CPU's int8 dot-product units (VNNI, AMX).
// best_int8_kernel() picks oneDNN only where its result is exact: the CPU must have VNNI or AMX
// (without them oneDNN pairs products into int16 with vpmaddubsw, which saturates: measured,
// 255·127 + 255·127 clips to 32767), and a one-time self-check on extreme inputs must pass.
//
// Exactness: every |a·b| <= 255·127, so an int32 sum of K such products cannot overflow while
// K <= kMaxExactK = floor((2^31 - 1) / (255·127)) = 66311. Callers split longer sums.
// Integer sums are exact, so the result does not depend on the summation order or thread count.
//
//   // C[M, N] = A[M, K] · B[N, K]ᵀ
//   gemm_u8s8s32(best_int8_kernel(), M, N, K, A, K, B, K, /*trans_b=*/true, C, N);
#pragma once

#include <cstdint>
#include <string>

namespace cipherlora {

constexpr int64_t kMaxExactK = 66311;  // largest K with K·255·127 < 2^31

enum class Int8Kernel { kPortable, kOneDnn };

// True when oneDNN's u8 × s8 -> s32 matmul is exact on this CPU (VNNI or AMX present and the
// self-check passed). Computed once.
bool onednn_int8_exact();

// kOneDnn when onednn_int8_exact(), else kPortable.
Int8Kernel best_int8_kernel();

// E.g. "oneDNN 2.6.3 u8s8s32 matmul (avx512_core_vnni)" or "portable u8s8s32".
std::string int8_kernel_name(Int8Kernel kernel);

// C[M, N] = A[M, K] · op(B), row-major with leading dimensions; C is overwritten.
// A: [M, K] (lda >= K). With trans_b, B is stored [N, K] (ldb >= K), else [K, N] (ldb >= N).
// Requires K <= kMaxExactK (Error otherwise). kOneDnn throws Error when !onednn_int8_exact().
// Called outside an OpenMP parallel region it uses num_threads() threads.
void gemm_u8s8s32(Int8Kernel kernel, int64_t M, int64_t N, int64_t K, const uint8_t* A, int64_t lda,
                  const int8_t* B, int64_t ldb, bool trans_b, int32_t* C, int64_t ldc);

}  // namespace cipherlora
