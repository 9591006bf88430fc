// Discrete Gaussian noise for RLWE encryption: values x in Z with probability proportional to
// exp(-x^2 / (2σ^2)), σ = 3.2 as the security table assumes (security.h).
//
// Sampling is by cumulative distribution table (CDT): 63 uniform bits are compared against the
// cumulative probabilities of |x| = 0, 1, ..., 41 (41 ≈ 12.8σ; the mass beyond is < 2^-100),
// scaled to 2^63, and one more bit gives the sign. |x| is the number of entries the bits reach.
// The portable kernel scans the whole table with branch-free compares; the AVX-512 kernel (chosen
// at run time) finds the same count by a six-step binary search whose table lookups are register
// permutes, 8 samples at a time. Neither reads memory at a value-dependent address or branches on
// a value, so a sample's time does not depend on it. The uniform bits are the
// AES-256-CTR keystream of a seed (aes_ctr.h): 8 bytes per sample. Seeds for noise are secret
// (derived from a master that never leaves the client), unlike mask seeds.
//
//   const GaussianSampler& g = GaussianSampler::standard();
//   std::vector<int32_t> e(N);
//   g.sample(noise_seed, /*first=*/0, e.size(), e.data());
#pragma once

#include <array>
#include <cstdint>

#include "he/seed.h"

namespace cipherlora {

enum class CdtKernel { kPortable, kAvx512, kBest };

class GaussianSampler {
 public:
  static constexpr int kTail = 41;  // samples lie in [-kTail, kTail]

  explicit GaussianSampler(double sigma);

  // The sampler for σ = kStandardSigma, built once.
  static const GaussianSampler& standard();

  double sigma() const { return sigma_; }

  // out[count] = samples [first, first + count) of the stream keyed by `seed` (sample i uses
  // keystream bytes [8i, 8i + 8)). Parallel over num_threads() for large counts.
  void sample(const Seed& seed, uint64_t first, uint64_t count, int32_t* out) const;

  // P(|x| <= m) scaled to 2^63, for tests: cdf(kTail) == 2^63 exactly.
  uint64_t cdf(int m) const { return cdf_[m]; }

  // out[i] = the sample of uniform word u[i] (count of m < kTail with (u & (2^63 − 1)) >= cdf(m),
  // negated when bit 63 is set), by the given kernel; for tests of one kernel against the other.
  // kAvx512 without the CPU support is an Error.
  void lookup(const uint64_t* u, uint64_t count, int32_t* out,
              CdtKernel kernel = CdtKernel::kBest) const;
  static bool avx512_available();

 private:
  double sigma_;
  std::array<uint64_t, kTail + 1> cdf_{};  // cdf_[m] = round(2^63 · P(|x| <= m))
};

}  // namespace cipherlora
