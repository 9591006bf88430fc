#include "he/column_body.h"

#include <span>

#include "he/bit_packing.h"
#include "he/column_pass_avx512.h"
#include "he/fft_ring_product.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

CIPHERLORA_VECTOR_CLONES void finish_plain(uint64_t* b, const LimbSum& sum, const int32_t* e,
                                           const int32_t* x, int64_t T, int64_t N, int shift,
                                           uint64_t q_mask) {
  for (int64_t n = 0; n < N; ++n) {
    const uint64_t message = n < T ? static_cast<uint64_t>(int64_t{x[n]}) << shift : 0;
    b[n] = (sum.at(n) + static_cast<uint64_t>(int64_t{e[n]}) + message) & q_mask;
  }
}

// Groups of 8 coefficients finished in 64-bit lanes, then packed as bit_packing.cc's vector path
// does (bit_packing_avx512.h).
template <int C>
CIPHERLORA_COLUMN_PASS_AVX512 void finish_packed_avx512(const LimbSum& sum, const int32_t* e,
                                                        const int32_t* x, int64_t T, int64_t N,
                                                        int shift, int B, uint8_t* packed) {
  const GroupPacker<C> packer(B);
  const LimbSum8 sum8(sum);
  const __m512i q_mask = _mm512_set1_epi64(static_cast<long long>(low_mask(B)));
  const __m128i shift_count = _mm_cvtsi32_si128(shift);
  const __mmask64 bytes = group_bytes(B);
  for (int64_t n0 = 0; n0 < N; n0 += 8, packed += B) {
    __m512i v = sum8.at(n0);
    v = _mm512_add_epi64(
        v, _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(e + n0))));
    if (n0 < T) {
      const __mmask8 live = T - n0 >= 8 ? 0xff : static_cast<__mmask8>((1u << (T - n0)) - 1);
      const __m512i xv = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(live, x + n0));
      v = _mm512_add_epi64(v, _mm512_sll_epi64(xv, shift_count));
    }
    _mm512_mask_storeu_epi8(packed, bytes, packer.pack(_mm512_and_si512(v, q_mask)));
  }
}

}  // namespace

void finish_body(uint64_t* b, const LimbSum& sum, const int32_t* e, const int32_t* x, int64_t T,
                 int64_t N, const BodyPlan& plan) {
  finish_plain(b, sum, e, x, T, N, plan.log_delta, low_mask(plan.log_q));
}

void finish_packed_body(const LimbSum& sum, const int32_t* e, const int32_t* x, int64_t T,
                        int64_t N, const BodyPlan& plan, uint8_t* packed, uint64_t* scratch,
                        BodyKernel kernel) {
  const int B = plan.log_q;
  if (kernel == BodyKernel::kBest && B >= kMinVectorBits && B <= kMaxVectorBits && N % 8 == 0 &&
      column_pass_avx512_available())
    return with_candidates(
        B, [&]<int C>() { finish_packed_avx512<C>(sum, e, x, T, N, plan.log_delta, B, packed); });
  finish_body(scratch, sum, e, x, T, N, plan);
  pack_bits(std::span<const uint64_t>(scratch, N), B, std::span(packed, packed_size(N, B)));
}

}  // namespace cipherlora
