#include "he/gaussian_sampler.h"

#include <algorithm>
#include <cmath>
#include <exception>

// g++ 12 flags the intrinsics header's own _mm512_undefined_epi32().
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#include <sodium.h>

#include "common/cpu_features.h"
#include "common/error.h"
#include "he/aes_ctr.h"
#include "he/security.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

// |x| for each 63-bit u: the number of table entries u reaches (cdf_[kTail] = 2^63 is never
// reached), then the sign from bit 63. Integer-only and branch-free, so it vectorises and its
// time does not depend on the samples.
CIPHERLORA_VECTOR_CLONES void cdt_lookup(const uint64_t* u, uint64_t count, const uint64_t* cdf,
                                         int32_t* out) {
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t bits = u[i] & ~(uint64_t{1} << 63);
    int32_t mag = 0;
    for (int m = 0; m < GaussianSampler::kTail; ++m) mag += bits >= cdf[m] ? 1 : 0;
    const int32_t sign = static_cast<int32_t>(u[i] >> 63);  // 0 or 1
    out[i] = (mag ^ -sign) + sign;                          // two's complement negation if sign
  }
}

#define CIPHERLORA_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl")))

// The same counts as cdt_lookup(), 8 words at a time: the table padded to 64 entries with 2^63
// (never reached) lives in 8 registers, and r = #{m : bits >= cdf[m]} is found as
//   r = 0; for step = 32, 16, ..., 1: r += step if bits >= cdf[r + step − 1]
// which is exact for a non-decreasing table (the tail entries repeat 2^63 after rounding). The
// lookup cdf[r + step − 1] is a permute of the registers holding the candidates for that step.
CIPHERLORA_AVX512 void cdt_lookup_avx512(const uint64_t* u, uint64_t count, const uint64_t* cdf,
                                         int32_t* out) {
  alignas(64) uint64_t table[64];
  for (int m = 0; m < 64; ++m) table[m] = m < GaussianSampler::kTail ? cdf[m] : uint64_t{1} << 63;
  // The candidates of each step, indexed by r / (2·step): cdf[2·step·i + step − 1].
  alignas(64) uint64_t c16[2], c8[4], c4[8], c2[16], c1[32];
  for (int i = 0; i < 2; ++i) c16[i] = table[32 * i + 15];
  for (int i = 0; i < 4; ++i) c8[i] = table[16 * i + 7];
  for (int i = 0; i < 8; ++i) c4[i] = table[8 * i + 3];
  for (int i = 0; i < 16; ++i) c2[i] = table[4 * i + 1];
  for (int i = 0; i < 32; ++i) c1[i] = table[2 * i];
  const __m512i t32 = _mm512_set1_epi64(static_cast<long long>(table[31]));
  const __m512i t16a = _mm512_set1_epi64(static_cast<long long>(c16[0]));
  const __m512i t16b = _mm512_set1_epi64(static_cast<long long>(c16[1]));
  const __m512i t8 = _mm512_maskz_loadu_epi64(0x0f, c8);
  const __m512i t4 = _mm512_loadu_si512(c4);
  const __m512i t2a = _mm512_loadu_si512(c2), t2b = _mm512_loadu_si512(c2 + 8);
  const __m512i t1a = _mm512_loadu_si512(c1), t1b = _mm512_loadu_si512(c1 + 8);
  const __m512i t1c = _mm512_loadu_si512(c1 + 16), t1d = _mm512_loadu_si512(c1 + 24);
  const __m512i low63 = _mm512_set1_epi64(0x7fffffffffffffffLL);
  const __m512i zero = _mm512_setzero_si512();
  uint64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m512i w = _mm512_loadu_si512(u + i);
    const __m512i bits = _mm512_and_si512(w, low63);
    // step 32: one candidate
    __m512i r = _mm512_maskz_mov_epi64(_mm512_cmpge_epu64_mask(bits, t32), _mm512_set1_epi64(32));
    // step 16: r in {0, 32}
    const __mmask8 hi = _mm512_test_epi64_mask(r, r);
    __m512i c = _mm512_mask_blend_epi64(hi, t16a, t16b);
    r = _mm512_mask_add_epi64(r, _mm512_cmpge_epu64_mask(bits, c), r, _mm512_set1_epi64(16));
    // step 8: r / 16 in 0..3
    c = _mm512_permutexvar_epi64(_mm512_srli_epi64(r, 4), t8);
    r = _mm512_mask_add_epi64(r, _mm512_cmpge_epu64_mask(bits, c), r, _mm512_set1_epi64(8));
    // step 4: r / 8 in 0..7
    c = _mm512_permutexvar_epi64(_mm512_srli_epi64(r, 3), t4);
    r = _mm512_mask_add_epi64(r, _mm512_cmpge_epu64_mask(bits, c), r, _mm512_set1_epi64(4));
    // step 2: r / 4 in 0..15
    c = _mm512_permutex2var_epi64(t2a, _mm512_srli_epi64(r, 2), t2b);
    r = _mm512_mask_add_epi64(r, _mm512_cmpge_epu64_mask(bits, c), r, _mm512_set1_epi64(2));
    // step 1: r / 2 in 0..31; bit 4 of the index picks the register pair
    const __m512i idx = _mm512_srli_epi64(r, 1);
    const __m512i lo = _mm512_permutex2var_epi64(t1a, idx, t1b);
    const __m512i hi2 = _mm512_permutex2var_epi64(t1c, idx, t1d);
    c = _mm512_mask_blend_epi64(_mm512_test_epi64_mask(idx, _mm512_set1_epi64(16)), lo, hi2);
    r = _mm512_mask_add_epi64(r, _mm512_cmpge_epu64_mask(bits, c), r, _mm512_set1_epi64(1));
    // sign from bit 63: negate where set
    const __mmask8 negative = _mm512_cmplt_epi64_mask(w, zero);
    r = _mm512_mask_sub_epi64(r, negative, zero, r);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), _mm512_cvtepi64_epi32(r));
  }
  if (i < count) cdt_lookup(u + i, count - i, cdf, out + i);
}

}  // namespace

bool GaussianSampler::avx512_available() {
  const CpuFeatures& cpu = cpu_features();
  return cpu.avx512f && cpu.avx512dq && cpu.avx512vl;
}

void GaussianSampler::lookup(const uint64_t* u, uint64_t count, int32_t* out,
                             CdtKernel kernel) const {
  if (kernel == CdtKernel::kBest)
    kernel = avx512_available() ? CdtKernel::kAvx512 : CdtKernel::kPortable;
  require(kernel != CdtKernel::kAvx512 || avx512_available(),
          "Gaussian sampler: the AVX-512 kernel needs AVX-512 F/DQ/VL, which this CPU lacks");
  if (kernel == CdtKernel::kAvx512)
    cdt_lookup_avx512(u, count, cdf_.data(), out);
  else
    cdt_lookup(u, count, cdf_.data(), out);
}

GaussianSampler::GaussianSampler(double sigma) : sigma_(sigma) {
  require(sigma >= kStandardSigma && sigma <= 8.0,
          "Gaussian sampler: sigma must be in [3.2, 8] for its 41-entry table");
  long double weight[kTail + 1], total = 0;
  for (int m = 0; m <= kTail; ++m) {
    const long double rho = std::exp(-static_cast<long double>(m) * m / (2.0L * sigma * sigma));
    weight[m] = m == 0 ? rho : 2 * rho;  // |x| = m > 0 has two values
    total += weight[m];
  }
  long double cumulative = 0;
  for (int m = 0; m <= kTail; ++m) {
    cumulative += weight[m];
    cdf_[m] = static_cast<uint64_t>(std::llround(std::ldexp(cumulative / total, 63)));
  }
  cdf_[kTail] = uint64_t{1} << 63;
}

const GaussianSampler& GaussianSampler::standard() {
  static const GaussianSampler sampler(kStandardSigma);
  return sampler;
}

void GaussianSampler::sample(const Seed& seed, uint64_t first, uint64_t count, int32_t* out) const {
  constexpr uint64_t kBlock = 4096;  // samples per keystream call: 32 KiB stays in L1/L2
  const uint64_t blocks = (count + kBlock - 1) / kBlock;
  std::exception_ptr failure;
#pragma omp parallel for schedule(static) if (count >= 8 * kBlock)
  for (uint64_t b = 0; b < blocks; ++b) {
    uint64_t u[kBlock];
    const uint64_t begin = b * kBlock, n = std::min(kBlock, count - begin);
    try {
      aes256_ctr_words(seed, first + begin, n, u);  // sample i uses keystream word i
    } catch (...) {
#pragma omp critical(gaussian_failure)
      failure = std::current_exception();
      continue;
    }
    lookup(u, n, out + begin);
    sodium_memzero(u, n * sizeof(uint64_t));  // the words determine the noise, a secret
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace cipherlora
