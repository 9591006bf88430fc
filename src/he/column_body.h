// Encryption's last step for one column (column_client.h): the body b = a·s_k + e_k + Δ·x_k mod
// 2^log_q, with the mask product a·s_k read as its limbs leave it (it runs as the
// FftRingMultiplier::LastLimb of the encryption's product). Written unpacked, or packed as the wire
// sends it, in one pass.
//
//   const BodyPlan p{log_q, log_delta};
//   finish_body(b, sum, e, x, T, N, p);                          // b [N] becomes the body
//   finish_packed_body(sum, e, x, T, N, p, bytes, scratch);      // bytes [N·log_q/8]
#pragma once

#include <cstdint>

#include "he/fft_ring_product.h"

namespace cipherlora {

struct BodyPlan {
  int log_q = 0;
  int log_delta = 0;  // Δ = 2^log_delta
};

// b[n] = (sum.at(n) + e[n] + x[n]·Δ) mod 2^log_q, with x[n] = 0 for n >= T (padding tokens).
// b, e and sum's arrays: [N] (b may be sum.lower); x: [T].
void finish_body(uint64_t* b, const LimbSum& sum, const int32_t* e, const int32_t* x, int64_t T,
                 int64_t N, const BodyPlan& plan);

enum class BodyKernel { kBest, kPortable };

// The same body packed at log_q bits per coefficient into packed [N·log_q/8] (bit_packing.h's
// layout; N a multiple of 8). With kBest on AVX-512 (log_q 16..63) eight coefficients are finished
// and packed in registers; otherwise the body is finished into scratch [N] (which may be
// sum.lower) and then packed.
void finish_packed_body(const LimbSum& sum, const int32_t* e, const int32_t* x, int64_t T,
                        int64_t N, const BodyPlan& plan, uint8_t* packed, uint64_t* scratch,
                        BodyKernel kernel = BodyKernel::kBest);

}  // namespace cipherlora
