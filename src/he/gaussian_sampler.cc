#include "he/gaussian_sampler.h"

#include <algorithm>
#include <cmath>
#include <exception>

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

}  // namespace

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
    cdt_lookup(u, n, cdf_.data(), out + begin);
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace cipherlora
