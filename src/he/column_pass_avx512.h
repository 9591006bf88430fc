// Internal: what the client's fused last-limb passes (column_body.cc, column_rounding.cc) share on
// AVX-512: their target, the CPU check, and FftRingMultiplier's round_limb on 8 lanes.
//
//   if (column_pass_avx512_available()) ...            // in a CIPHERLORA_COLUMN_PASS_AVX512
//   kernel:
//   __m512i term = round_limb_shifted(_mm512_loadu_pd(prod + n), offset_count);
#pragma once

#include "he/bit_packing_avx512.h"

#define CIPHERLORA_COLUMN_PASS_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

namespace cipherlora {

inline bool column_pass_avx512_available() {
  return packing_avx512_available() && cpu_features().avx512dq && cpu_features().avx512vl;
}

// round_limb(c)·2^offset for 8 coefficients: c + 0.5 with c's sign, truncated (as the scalar
// round_limb, so both paths give the same integers), then shifted left by offset.
CIPHERLORA_COLUMN_PASS_AVX512 inline __attribute__((always_inline)) __m512i round_limb_shifted(
    __m512d c, __m128i offset) {
  const __m512i sign = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ULL));
  const __m512d signed_half = _mm512_castsi512_pd(_mm512_or_si512(
      _mm512_castpd_si512(_mm512_set1_pd(0.5)), _mm512_and_si512(_mm512_castpd_si512(c), sign)));
  return _mm512_sll_epi64(_mm512_cvttpd_epi64(_mm512_add_pd(c, signed_half)), offset);
}

}  // namespace cipherlora
