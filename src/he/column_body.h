// Encryption's last step for one column (column_client.h): the body b = a·s_k + e_k + Δ·x_k mod
// 2^log_q, with the mask product's last limb summed in (it runs as the FftRingMultiplier::LastLimb
// of the encryption's product). Written unpacked, or packed as the wire sends it, in one pass.
//
//   const BodyPlan p{log_q, log_delta};
//   finish_body(b, prod, offset, first, e, x, T, N, p);                 // b [N] becomes the body
//   finish_packed_body(b, prod, offset, first, e, x, T, N, p, bytes);   // bytes [N·log_q/8]
#pragma once

#include <cstdint>

namespace cipherlora {

struct BodyPlan {
  int log_q = 0;
  int log_delta = 0;  // Δ = 2^log_delta
};

// b[n] = (b[n] + round_limb(prod[n])·2^offset + e[n] + x[n]·Δ) mod 2^log_q, with b[n] taken as 0
// when `first` (a single limb) and x[n] = 0 for n >= T (padding tokens). b, prod, e: [N]; x: [T].
void finish_body(uint64_t* b, const double* prod, int offset, bool first, const int32_t* e,
                 const int32_t* x, int64_t T, int64_t N, const BodyPlan& plan);

enum class BodyKernel { kBest, kPortable };

// The same body packed at log_q bits per coefficient into packed [N·log_q/8] (bit_packing.h's
// layout; N a multiple of 8). With kBest on AVX-512 (log_q 16..63) eight coefficients are finished
// and packed in registers; otherwise b is finished in place and then packed.
void finish_packed_body(uint64_t* b, const double* prod, int offset, bool first, const int32_t* e,
                        const int32_t* x, int64_t T, int64_t N, const BodyPlan& plan,
                        uint8_t* packed, BodyKernel kernel = BodyKernel::kBest);

}  // namespace cipherlora
