// Decryption's last step for one column (column_client.h): the mask product a·s'_j read as its
// limbs leave it, the phase (b << b_shift) − a·s'_j = Δ·y + small mod 2^log_q rounded to the
// nearest multiple of Δ = 2^d, and y read as a (log_q − d)-bit two's complement value. It runs as
// the FftRingMultiplier::LastLimb of the decryption's product, so the product is never stored
// whole.
//
//   const RoundingPlan r{b_shift, log_q, log_delta};
//   round_column(b, sum, T, r, y, err);                         // b unpacked
//   round_packed_column(bytes, b_bits, sum, T, r, y, scratch);  // b as the wire sends it
#pragma once

#include <cstdint>

#include "he/fft_ring_product.h"

namespace cipherlora {

struct RoundingPlan {
  int b_shift = 0;  // log_q − the bits of b the worker sent
  int log_q = 0;
  int log_delta = 0;  // d
};

// The mask product is sum.at(t). b and sum's arrays: [T] (the first T coefficients); y: [T],
// Y = int64_t or int32_t (the caller makes sure y fits); err: [T] or nullptr, the centred error
// phase − Δ·y (noise measurements).
template <class Y>
void round_column(const uint64_t* b, const LimbSum& sum, int64_t T, const RoundingPlan& plan, Y* y,
                  int64_t* err);

enum class RoundingKernel { kBest, kPortable };

// The same with b read as the wire sends it: `packed` holds b's first T coefficients (at least) at
// b_bits bits each (bit_packing.h). With kBest on AVX-512 (b_bits 16..63) eight coefficients are
// unpacked in registers and rounded at once; otherwise they are unpacked into scratch [T] first.
template <class Y>
void round_packed_column(const uint8_t* packed, int b_bits, const LimbSum& sum, int64_t T,
                         const RoundingPlan& plan, Y* y, uint64_t* scratch,
                         RoundingKernel kernel = RoundingKernel::kBest);

}  // namespace cipherlora
