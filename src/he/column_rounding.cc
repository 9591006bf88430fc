#include "he/column_rounding.h"

#include <span>

#include "he/bit_packing.h"
#include "he/column_pass_avx512.h"
#include "he/fft_ring_product.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

// Coefficients [t0, t0 + count) of the column; b and y are indexed from t0. No branch depends on
// a value, so it vectorizes.
template <class Y>
CIPHERLORA_VECTOR_CLONES void round_plain(const uint64_t* b, const LimbSum& sum, int64_t t0,
                                          int64_t count, int b_shift, int log_q, int d, Y* y,
                                          int64_t* err) {
  const uint64_t q_mask = low_mask(log_q), half_delta = uint64_t{1} << (d - 1);
  const int y_shift = 64 - (log_q - d), q_shift = 64 - log_q;
  for (int64_t t = 0; t < count; ++t) {
    const uint64_t product = sum.at(t0 + t);
    const uint64_t phase = ((b[t] << b_shift) - product) & q_mask;
    const int64_t value =
        static_cast<int64_t>((((phase + half_delta) & q_mask) >> d) << y_shift) >> y_shift;
    y[t] = static_cast<Y>(value);
    if (err) {
      const uint64_t e = (phase - (static_cast<uint64_t>(value) << d)) & q_mask;
      err[t] = static_cast<int64_t>(e << q_shift) >> q_shift;
    }
  }
}

// Groups of 8 coefficients: B bytes in (one byte-masked load, unpacked as bit_packing.cc does,
// bit_packing_avx512.h), the same arithmetic as round_plain in 64-bit lanes, 8 outputs out. Returns
// the coefficients done (T rounded down to a multiple of 8).
template <class Y>
CIPHERLORA_COLUMN_PASS_AVX512 int64_t round_packed_avx512(const uint8_t* packed, int B,
                                                          const LimbSum& sum, int64_t T,
                                                          int b_shift, int log_q, int d, Y* y) {
  const GroupUnpacker unpacker(B);
  const LimbSum8 sum8(sum);
  const __m512i q_mask = _mm512_set1_epi64(static_cast<long long>(low_mask(log_q)));
  const __m512i half_delta = _mm512_set1_epi64(int64_t{1} << (d - 1));
  const __m128i b_count = _mm_cvtsi32_si128(b_shift);
  const __m128i d_count = _mm_cvtsi32_si128(d), y_count = _mm_cvtsi32_si128(64 - (log_q - d));
  const __mmask64 bytes = group_bytes(B);
  const int64_t groups = T / 8;
  for (int64_t g = 0; g < groups; ++g, packed += B) {
    const __m512i b = unpacker.unpack(_mm512_maskz_loadu_epi8(bytes, packed));
    const __m512i product = sum8.at(8 * g);
    const __m512i phase =
        _mm512_and_si512(_mm512_sub_epi64(_mm512_sll_epi64(b, b_count), product), q_mask);
    const __m512i rounded =
        _mm512_srl_epi64(_mm512_and_si512(_mm512_add_epi64(phase, half_delta), q_mask), d_count);
    const __m512i value = _mm512_sra_epi64(_mm512_sll_epi64(rounded, y_count), y_count);
    if constexpr (sizeof(Y) == 4)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + 8 * g), _mm512_cvtepi64_epi32(value));
    else
      _mm512_storeu_si512(y + 8 * g, value);
  }
  return groups * 8;
}

}  // namespace

template <class Y>
void round_column(const uint64_t* b, const LimbSum& sum, int64_t T, const RoundingPlan& plan, Y* y,
                  int64_t* err) {
  round_plain(b, sum, 0, T, plan.b_shift, plan.log_q, plan.log_delta, y, err);
}

template <class Y>
void round_packed_column(const uint8_t* packed, int b_bits, const LimbSum& sum, int64_t T,
                         const RoundingPlan& plan, Y* y, uint64_t* scratch, RoundingKernel kernel) {
  int64_t done = 0;
  if (kernel == RoundingKernel::kBest && b_bits >= kMinVectorBits && b_bits <= kMaxVectorBits &&
      column_pass_avx512_available())
    done = round_packed_avx512(packed, b_bits, sum, T, plan.b_shift, plan.log_q, plan.log_delta, y);
  if (done == T) return;
  // The rest (all of it on the portable path): groups of 8 start on byte boundaries, so
  // coefficients [done, T) are the stream from byte done·b_bits/8 on, followed by the column's
  // other coefficients.
  const int64_t rest = T - done;
  unpack_leading_bits(std::span(packed + done * b_bits / 8, packed_size(rest, b_bits)), b_bits,
                      std::span(scratch, rest));
  round_plain(scratch, sum, done, rest, plan.b_shift, plan.log_q, plan.log_delta, y + done,
              nullptr);
}

template void round_column(const uint64_t*, const LimbSum&, int64_t, const RoundingPlan&, int64_t*,
                           int64_t*);
template void round_column(const uint64_t*, const LimbSum&, int64_t, const RoundingPlan&, int32_t*,
                           int64_t*);
template void round_packed_column(const uint8_t*, int, const LimbSum&, int64_t, const RoundingPlan&,
                                  int64_t*, uint64_t*, RoundingKernel);
template void round_packed_column(const uint8_t*, int, const LimbSum&, int64_t, const RoundingPlan&,
                                  int32_t*, uint64_t*, RoundingKernel);

}  // namespace cipherlora
