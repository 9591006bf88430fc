// Exact matrix products modulo 2^log_q (1 <= log_q <= 64): the encrypted backend's linear layer.
// An untrusted worker holds the frozen base model's int8 weights and receives, per linear layer,
// K RLWE ciphertext polynomials (one per input feature, N coefficients mod 2^log_q each). For every
// output feature j it returns the polynomial Σ_k W[k, j]·poly_k mod 2^log_q, an (N × K)·(K × m)
// integer product, done for the ciphertext bodies and the masks (count = 2) in one call.
//
// Method: every coefficient is cut into L = ceil(log_q / 8) bytes; the byte matrices times W are
// exact u8 × s8 -> s32 products on the CPU's int8 dot-product units (oneDNN on VNNI, or portable
// loops), recombined as Σ_l 2^(8l)·C_l with 64-bit wraparound. The cost is count·L int8 GEMMs of
// the fp32 shape; VNNI multiplies 8 bits × 8 bits at 4× the fp32 FMA rate, so the floor is
// count·L/4 fp32 SGEMMs (3.0 at log_q = 47, count = 2). Other units do not lower it: 52-bit IFMA
// and fp64 FMA take fewer coefficient bits per instruction and issue on the same pipes.
// Sums of any length are exact (the int32 GEMMs are split every 65793 rows of K), W may use the
// full int8 range, and results are independent of the kernel and the thread count. Called outside
// an OpenMP parallel region, products() uses num_threads() threads.
//
//   Mod2kWeights w(best_int8_kernel(), W, K, m, /*trans_w=*/true);  // W stored [m, K], kept
//   const uint64_t* in[2] = {bodies, masks};                         // each [K, N]
//   uint64_t* out[2] = {out_bodies, out_masks};                      // each [m, N]
//   w.products(2, in, N, /*log_q=*/47, out);
#pragma once

#include <cstdint>
#include <vector>

#include "common/aligned_allocator.h"
#include "tensor/int8_gemm.h"

namespace cipherlora {

// The weights of one linear layer, laid out once for repeated mod 2^log_q products (the worker
// keeps them resident). Immutable after construction; products() may run concurrently.
class Mod2kWeights {
 public:
  // op(W) is [K, m]: W is stored [m, K] when trans_w (Hugging Face [out, in], the forward product),
  // else [K, m] (the backward product). W is copied. Throws Error for K or m <= 0, or for kOneDnn
  // on a CPU where onednn_int8_exact() is false.
  Mod2kWeights(Int8Kernel kernel, const int8_t* W, int64_t K, int64_t m, bool trans_w);

  // out[c][j][n] = Σ_k op(W)[k, j]·in[c][k][n] mod 2^log_q for c < count.
  // in[c]: [K, N] row-major; out[c]: [m, N], overwritten with values in [0, 2^log_q). Inputs need
  // not be reduced (bits at and above log_q do not change the result). in and out must not overlap.
  // Throws Error for count < 1, N <= 0 or log_q outside 1..64.
  void products(int count, const uint64_t* const* in, int64_t N, int log_q,
                uint64_t* const* out) const;

  Int8Kernel kernel() const { return kernel_; }
  int64_t K() const { return K_; }
  int64_t m() const { return m_; }

 private:
  Int8Kernel kernel_;
  int64_t K_, m_;
  int64_t chunk_;  // rows of K per int8 GEMM (fewer in the last), for exact int32 sums
  // op(W)ᵀ + 128, the unsigned operand of the int8 GEMMs: chunk by chunk, each [m, its rows].
  LargeVector<uint8_t> w_;      // on huge pages from 4 MB: the GEMM reads its rows in tiles
  std::vector<int64_t> w_sum_;  // [chunks, m]: Σ_k op(W)[k, j] over each chunk's rows
};

// dst [m, kc] = op(W)ᵀ + 128 as u8 for rows [k0, k0 + kc) of op(W) [K, m], W stored [m, K] when
// trans_w, else [K, m]: the unsigned operand W' of the u8 × s8 products (here, and in the client's
// combined secrets). The transposing case moves 64 × 64 blocks.
void shifted_weight_rows(const int8_t* W, int64_t K, int64_t m, bool trans_w, int64_t k0,
                         int64_t kc, uint8_t* dst);

// One-shot form of Mod2kWeights(kernel, W, K, m, trans_w).products(count, in, N, log_q, out).
void mod2k_products(Int8Kernel kernel, int count, const uint64_t* const* in, int64_t K, int64_t N,
                    const int8_t* W, int64_t m, bool trans_w, int log_q, uint64_t* const* out);

}  // namespace cipherlora
