#include "he/column_body.h"

#include <span>

// g++ 12 flags the intrinsics header's own _mm512_undefined_epi32().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "he/bit_packing.h"
#include "he/fft_ring_product.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

#define CIPHERLORA_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl")))

bool avx512_available() {
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }();
  return available;
}

uint64_t low_mask(int bits) {
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

CIPHERLORA_VECTOR_CLONES void finish_plain(uint64_t* b, const double* prod, int offset, bool first,
                                           const int32_t* e, const int32_t* x, int64_t T, int64_t N,
                                           int shift, uint64_t q_mask) {
  for (int64_t n = 0; n < N; ++n) {
    const uint64_t message = n < T ? static_cast<uint64_t>(int64_t{x[n]}) << shift : 0;
    b[n] = ((first ? 0 : b[n]) + (static_cast<uint64_t>(round_limb(prod[n])) << offset) +
            static_cast<uint64_t>(int64_t{e[n]}) + message) &
           q_mask;
  }
}

// Groups of 8 coefficients finished in 64-bit lanes, then packed as bit_packing.cc's vector path
// does: word m of the group's B bytes is the OR of the at most C values overlapping it, each moved
// into place by a permute and a variable shift (a shift by 64 or more gives zero).
template <int C>
CIPHERLORA_AVX512 void finish_packed_avx512(const uint64_t* b, const double* prod, int offset,
                                            bool first, const int32_t* e, const int32_t* x,
                                            int64_t T, int64_t N, int shift, int B,
                                            uint8_t* packed) {
  alignas(64) int64_t idx[C][8], left[C][8], right[C][8];
  for (int c = 0; c < C; ++c)
    for (int m = 0; m < 8; ++m) {
      const int j = 64 * m / B + c, d = j * B - 64 * m;  // value j starts d bits into word m
      const bool used = j < 8 && d < 64 && 64 * m < 8 * B;
      idx[c][m] = used ? j : 0;
      left[c][m] = used && d >= 0 ? d : 64;
      right[c][m] = used && d < 0 ? -d : 64;
    }
  __m512i vidx[C], vleft[C], vright[C];
  for (int c = 0; c < C; ++c) {
    vidx[c] = _mm512_load_si512(idx[c]);
    vleft[c] = _mm512_load_si512(left[c]);
    vright[c] = _mm512_load_si512(right[c]);
  }
  const __m512i q_mask = _mm512_set1_epi64(static_cast<long long>(low_mask(B)));
  const __m128i offset_count = _mm_cvtsi32_si128(offset), shift_count = _mm_cvtsi32_si128(shift);
  const __m512d half = _mm512_set1_pd(0.5);
  const __m512i sign = _mm512_set1_epi64(static_cast<long long>(0x8000000000000000ULL));
  const __mmask64 bytes = (__mmask64{1} << B) - 1;
  for (int64_t n0 = 0; n0 < N; n0 += 8, packed += B) {
    // round_limb: truncate c + 0.5 with c's sign
    const __m512d c = _mm512_loadu_pd(prod + n0);
    const __m512d signed_half = _mm512_castsi512_pd(
        _mm512_or_si512(_mm512_castpd_si512(half), _mm512_and_si512(_mm512_castpd_si512(c), sign)));
    __m512i v = _mm512_sll_epi64(_mm512_cvttpd_epi64(_mm512_add_pd(c, signed_half)), offset_count);
    if (!first) v = _mm512_add_epi64(v, _mm512_loadu_si512(b + n0));
    v = _mm512_add_epi64(
        v, _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + n0))));
    if (n0 < T) {
      const __mmask8 live = T - n0 >= 8 ? 0xff : static_cast<__mmask8>((1u << (T - n0)) - 1);
      const __m512i xv = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(live, x + n0));
      v = _mm512_add_epi64(v, _mm512_sll_epi64(xv, shift_count));
    }
    v = _mm512_and_si512(v, q_mask);
    __m512i word = _mm512_setzero_si512();
    for (int k = 0; k < C; ++k) {
      const __m512i p = _mm512_permutexvar_epi64(vidx[k], v);
      word = _mm512_or_si512(word, _mm512_sllv_epi64(p, vleft[k]));
      word = _mm512_or_si512(word, _mm512_srlv_epi64(p, vright[k]));
    }
    _mm512_mask_storeu_epi8(packed, bytes, word);
  }
}

}  // namespace

void finish_body(uint64_t* b, const double* prod, int offset, bool first, const int32_t* e,
                 const int32_t* x, int64_t T, int64_t N, const BodyPlan& plan) {
  finish_plain(b, prod, offset, first, e, x, T, N, plan.log_delta, low_mask(plan.log_q));
}

void finish_packed_body(uint64_t* b, const double* prod, int offset, bool first, const int32_t* e,
                        const int32_t* x, int64_t T, int64_t N, const BodyPlan& plan,
                        uint8_t* packed, BodyKernel kernel) {
  const int B = plan.log_q;
  if (kernel == BodyKernel::kBest && B >= 16 && B <= 63 && N % 8 == 0 && avx512_available()) {
    const int candidates = 63 / B + 2;
    if (candidates == 3)
      finish_packed_avx512<3>(b, prod, offset, first, e, x, T, N, plan.log_delta, B, packed);
    else if (candidates == 4)
      finish_packed_avx512<4>(b, prod, offset, first, e, x, T, N, plan.log_delta, B, packed);
    else
      finish_packed_avx512<5>(b, prod, offset, first, e, x, T, N, plan.log_delta, B, packed);
    return;
  }
  finish_body(b, prod, offset, first, e, x, T, N, plan);
  pack_bits(std::span<const uint64_t>(b, N), B, std::span(packed, packed_size(N, B)));
}

}  // namespace cipherlora
