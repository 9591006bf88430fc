// Internal: the AVX-512 group kernels of bit_packing.cc, shared with the fused encryption and
// decryption passes (column_body.cc, column_rounding.cc) that pack or unpack in registers. A group
// is 8 values of B bits (16 <= B <= 63) = B bytes, moved as one vector: loads and stores are
// byte-masked, so they touch no byte outside the group.
//
//   const GroupPacker<3> packer(47);                     // C = 63 / B + 2 candidates per word
//   _mm512_mask_storeu_epi8(out, group_bytes(47), packer.pack(values));
//   const GroupUnpacker unpacker(29);
//   __m512i v = unpacker.unpack(_mm512_maskz_loadu_epi8(group_bytes(29), in));
//
// Callers compile these inline into functions of their own AVX-512 target (a superset of
// CIPHERLORA_PACKING_AVX512) and check packing_avx512_available() first.
#pragma once

#include <cstdint>

// g++ 12 flags the intrinsics header's own _mm512_undefined_epi32().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "common/cpu_features.h"

#define CIPHERLORA_PACKING_AVX512 __attribute__((target("avx512f,avx512bw")))
#define CIPHERLORA_PACKING_INLINE CIPHERLORA_PACKING_AVX512 inline __attribute__((always_inline))

namespace cipherlora {

constexpr int kMinVectorBits = 16, kMaxVectorBits = 63;

// AVX-512 F and BW; the fused kernels add their own needs (DQ, VL) to the check.
inline bool packing_avx512_available() {
  return cpu_features().avx512f && cpu_features().avx512bw;
}

inline __mmask64 group_bytes(int B) {
  return (__mmask64{1} << B) - 1;
}

// Word m of a packed group is the OR of the at most C = 63/B + 2 values that overlap it, each
// moved into place by a per-lane permute and a variable shift; a shift by 64 or more gives zero,
// which disables a candidate that does not apply. Values must be below 2^B.
template <int C>
struct GroupPacker {
  __m512i idx[C], left[C], right[C];

  CIPHERLORA_PACKING_AVX512 explicit GroupPacker(int B) {
    alignas(64) int64_t i[C][8], l[C][8], r[C][8];
    for (int c = 0; c < C; ++c)
      for (int m = 0; m < 8; ++m) {
        const int j = 64 * m / B + c, d = j * B - 64 * m;  // value j starts d bits into word m
        const bool used = j < 8 && d < 64 && 64 * m < 8 * B;
        i[c][m] = used ? j : 0;
        l[c][m] = used && d >= 0 ? d : 64;
        r[c][m] = used && d < 0 ? -d : 64;
      }
    for (int c = 0; c < C; ++c) {
      idx[c] = _mm512_load_si512(i[c]);
      left[c] = _mm512_load_si512(l[c]);
      right[c] = _mm512_load_si512(r[c]);
    }
  }

  CIPHERLORA_PACKING_INLINE __m512i pack(__m512i values) const {
    __m512i words = _mm512_setzero_si512();
    for (int c = 0; c < C; ++c) {
      const __m512i p = _mm512_permutexvar_epi64(idx[c], values);
      words = _mm512_or_si512(words, _mm512_sllv_epi64(p, left[c]));
      words = _mm512_or_si512(words, _mm512_srlv_epi64(p, right[c]));
    }
    return words;
  }
};

// Value j of a group is bits [s, s + B) of words a = jB/64 and a + 1 (a + 1 <= 7 for B <= 63),
// s = jB mod 64.
struct GroupUnpacker {
  __m512i lo, hi, shift, back, mask;

  CIPHERLORA_PACKING_AVX512 explicit GroupUnpacker(int B) {
    alignas(64) int64_t l[8], h[8], s[8], b[8];
    for (int j = 0; j < 8; ++j) {
      l[j] = j * B / 64;
      h[j] = l[j] + 1;
      s[j] = j * B % 64;
      b[j] = 64 - s[j];  // 64 when s is 0: the high word then adds nothing
    }
    lo = _mm512_load_si512(l);
    hi = _mm512_load_si512(h);
    shift = _mm512_load_si512(s);
    back = _mm512_load_si512(b);
    mask = _mm512_set1_epi64(static_cast<long long>((uint64_t{1} << B) - 1));
  }

  CIPHERLORA_PACKING_INLINE __m512i unpack(__m512i words) const {
    const __m512i a = _mm512_srlv_epi64(_mm512_permutexvar_epi64(lo, words), shift);
    const __m512i b = _mm512_sllv_epi64(_mm512_permutexvar_epi64(hi, words), back);
    return _mm512_and_si512(_mm512_or_si512(a, b), mask);
  }
};

// Calls f.template operator()<C>() with the candidate count C for width B (3, 4 or 5).
template <class F>
decltype(auto) with_candidates(int B, F&& f) {
  const int candidates = 63 / B + 2;
  if (candidates == 3) return f.template operator()<3>();
  if (candidates == 4) return f.template operator()<4>();
  return f.template operator()<5>();
}

}  // namespace cipherlora
