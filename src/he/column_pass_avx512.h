// Internal: what the client's fused last-limb passes (column_body.cc, column_rounding.cc) share on
// AVX-512: their target, the CPU check, and FftRingMultiplier's round_limb and LimbSum::at on 8
// lanes.
//
//   if (column_pass_avx512_available()) ...            // in a CIPHERLORA_COLUMN_PASS_AVX512
//   kernel:
//   const LimbSum8 sum8(sum);
//   __m512i product = sum8.at(n);                      // coefficients n..n + 7
#pragma once

#include "he/bit_packing_avx512.h"
#include "he/fft_ring_product.h"

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

// LimbSum::at on 8 lanes: coefficients n0..n0 + 7 of the product, mod 2^64.
struct LimbSum8 {
  const LimbSum& sum;
  __m128i offset, prev_offset;

  CIPHERLORA_COLUMN_PASS_AVX512 explicit LimbSum8(const LimbSum& s)
      : sum(s),
        offset(_mm_cvtsi32_si128(s.offset)),
        prev_offset(_mm_cvtsi32_si128(s.prev_offset)) {}

  CIPHERLORA_COLUMN_PASS_AVX512 inline __attribute__((always_inline)) __m512i at(int64_t n0) const {
    __m512i v = round_limb_shifted(_mm512_loadu_pd(sum.prod + n0), offset);
    if (sum.prev)
      v = _mm512_add_epi64(v, round_limb_shifted(_mm512_loadu_pd(sum.prev + n0), prev_offset));
    if (sum.lower) v = _mm512_add_epi64(v, _mm512_loadu_si512(sum.lower + n0));
    return v;
  }
};

}  // namespace cipherlora
