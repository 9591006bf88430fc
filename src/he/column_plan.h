// How big the numbers of one encrypted product get, and hence its RLWE parameters: the ring
// degree N, the modulus q = 2^log_q, the plaintext scale Δ = 2^log_delta, and the moduli the
// worker rounds its two outputs to before sending (DESIGN.md, "The encrypted matmul").
//
// The client encrypts integers x[t,k] with |x| <= x_bound under one mask a shared by the
// request's columns and a secret s_k per column; the worker returns, for every output column j,
// B_j = Σ_k W[k,j]·b_k (mod q) rounded to log_q_b bits. Decryption computes B_j − a·s'_j with
// s'_j = Σ_k W[k,j]·s_k, which is Δ·Y_j + E_j, and must recover Y_j exactly, so
//   |Y_j|   <= x_bound · max_j ‖W_j‖₁ =: y_max               must fit:  Δ·(2·y_max + 1) <= q
//   E_j = Σ_k W[k,j]·e_k  (encryption noise, σ·‖W_j‖₂ per coefficient)
//       + ε_B             (rounding of B, |ε_B| <= 2^(log_q − log_q_b − 1))
//   must stay below Δ/2. The plan bounds the noise by kTailSigmas standard deviations
//   (sub-Gaussian tails: probability < 2^-70 per coefficient) and gives it at most Δ/4, the
//   rounding at most Δ/8:
//     log_delta = ceil(log2(4 · kTailSigmas · σ · max_j ‖W_j‖₂)),
//     log_q     = log_delta + ceil(log2(2·y_max + 1)),
//     log_q_b   = log_q − (log_delta − 2)                       (ε_B <= Δ/8)
// The plan uses N = 2048 when log_q fits its 54-bit security limit (8-bit activations), else
// N = 4096 with log_q <= 64 (wider values); beyond that it refuses. Both sets pass
// check_security() (security.h).
//
// The plan depends only on public things (the weights, the bit width, K), never on the data, so
// the worker learns nothing from the parameters it is sent.
//
//   ColumnPlan p = plan_columns(/*K=*/576, /*x_bound=*/128, w_l1_max, w_l2_max);
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cipherlora {

constexpr double kTailSigmas = 10.0;  // P(|z| > 10σ) < 2·exp(-50) ≈ 2^-71 for sub-Gaussian z

// The two parameter sets: ring degrees and the largest modulus each may use.
constexpr int kNarrowLogN = 11, kNarrowMaxLogQ = 54;  // 8-bit activations × int8 weights
constexpr int kWideLogN = 12, kWideMaxLogQ = 64;      // wider values; q fits a uint64

struct ColumnPlan {
  int log_n = 0;           // N = 2^log_n tokens per ciphertext
  int log_q = 0;           // the worker computes mod 2^log_q
  int log_delta = 0;       // plaintext scale Δ = 2^log_delta
  int log_q_b = 0;         // bits of B the worker sends
  double noise_bound = 0;  // kTailSigmas · σ · max ‖W_j‖₂, the bound used for Δ
  int64_t n() const { return int64_t{1} << log_n; }
  std::string describe() const;  // e.g. "N=2048 q=2^46 delta=2^19 output 29 bits"
};

// x_bound: largest |x| the client encrypts. w_l1_max / w_l2_max: the largest L1 / L2 norm of a
// column of op(W) [K, m] (a sum over k). Throws Error when no parameter set can hold the product.
ColumnPlan plan_columns(int64_t K, int64_t x_bound, double w_l1_max, double w_l2_max);

// The largest L1 norm and squared L2 norm over the columns of op(W) (the rows of wq [out, in]
// forward, its columns backward): what the plan and the combined secrets' public bounds are
// built from.
struct WeightNorms {
  double l1 = 0, l2_squared = 0;
};
WeightNorms largest_column_norms(const int8_t* wq, int64_t out, int64_t in, bool forward);

// Error unless wq holds out·in values with out, in > 0; `who` prefixes the message ("worker").
// Both ends register the same weights, so they check them the same way.
void check_weight_shape(const std::vector<int8_t>& wq, int64_t out, int64_t in, const char* who);

// The plan for a frozen linear held as int8 wq [out, in]: forward multiplies by op(W) = wqᵀ
// (K = in, columns are rows of wq), backward by op(W) = wq (K = out, columns are columns of wq).
ColumnPlan plan_for_weight(const int8_t* wq, int64_t out, int64_t in, bool forward,
                           int64_t x_bound);

}  // namespace cipherlora
