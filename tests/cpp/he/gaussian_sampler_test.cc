#include "he/gaussian_sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "he/seed.h"

namespace cipherlora {
namespace {

TEST(GaussianSampler, TableIsTheDiscreteGaussianCdf) {
  const GaussianSampler& g = GaussianSampler::standard();
  // P(|x| <= m) from the definition, summed independently here in double.
  double total = 0;
  for (int x = -60; x <= 60; ++x) total += std::exp(-x * x / (2 * 3.2 * 3.2));
  double cum = 0;
  for (int m = 0; m <= 12; ++m) {
    cum += (m == 0 ? 1 : 2) * std::exp(-m * m / (2 * 3.2 * 3.2));
    EXPECT_NEAR(std::ldexp(static_cast<double>(g.cdf(m)), -63), cum / total, 1e-12) << m;
  }
  EXPECT_EQ(g.cdf(GaussianSampler::kTail), 1ull << 63);
}

// Both kernels give the table's definition, |x| = #{m < kTail : bits >= cdf(m)} with the sign from
// bit 63, at every table boundary (cdf(m) − 1, cdf(m), cdf(m) + 1), the extremes and random
// words, for counts that are not a multiple of the vector width.
TEST(GaussianSampler, KernelsCountTheTableAtEveryBoundary) {
  const GaussianSampler& g = GaussianSampler::standard();
  std::vector<uint64_t> words = {0, 1, (1ull << 63) - 1};
  for (int m = 0; m < GaussianSampler::kTail; ++m)
    for (uint64_t d : {~0ull, 0ull, 1ull}) words.push_back((g.cdf(m) + d) & ((1ull << 63) - 1));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 5000; ++i) words.push_back(rng() >> (rng() % 64));
  const size_t base = words.size();
  for (size_t i = 0; i < base; ++i) words.push_back(words[i] | (1ull << 63));  // negative twins
  words.push_back(1ull << 63);                                                 // "-0"
  std::vector<int32_t> want(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    const uint64_t bits = words[i] & ((1ull << 63) - 1);
    int32_t mag = 0;
    for (int m = 0; m < GaussianSampler::kTail; ++m) mag += bits >= g.cdf(m);
    want[i] = words[i] >> 63 ? -mag : mag;
  }
  std::vector<CdtKernel> kernels = {CdtKernel::kPortable};
  if (GaussianSampler::avx512_available()) kernels.push_back(CdtKernel::kAvx512);
  for (CdtKernel kernel : kernels)
    for (size_t count : {words.size(), words.size() - 3, size_t{5}}) {
      std::vector<int32_t> got(count, 99);
      g.lookup(words.data(), count, got.data(), kernel);
      for (size_t i = 0; i < count; ++i)
        ASSERT_EQ(got[i], want[i]) << "kernel " << static_cast<int>(kernel) << " word " << words[i];
    }
}

TEST(GaussianSampler, MomentsAndFrequenciesMatchOverTenMillionSamples) {
  const GaussianSampler& g = GaussianSampler::standard();
  std::vector<int32_t> e(10'000'000);
  g.sample(random_seed(), 0, e.size(), e.data());
  double sum = 0, sq = 0;
  std::vector<int64_t> count(2 * GaussianSampler::kTail + 1);
  for (int32_t v : e) {
    ASSERT_LE(std::abs(v), GaussianSampler::kTail);
    sum += v;
    sq += static_cast<double>(v) * v;
    ++count[v + GaussianSampler::kTail];
  }
  const double n = static_cast<double>(e.size());
  EXPECT_NEAR(sum / n, 0.0, 5 * 3.2 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(sq / n), 3.2, 0.005);
  // Chi-square over |x| <= 10 (expected counts >= ~90 000 down to ~700).
  double total = 0;
  for (int x = -60; x <= 60; ++x) total += std::exp(-x * x / (2 * 3.2 * 3.2));
  double chi2 = 0;
  for (int x = -10; x <= 10; ++x) {
    const double expect = n * std::exp(-x * x / (2 * 3.2 * 3.2)) / total;
    const double d = count[x + GaussianSampler::kTail] - expect;
    chi2 += d * d / expect;
  }
  EXPECT_LT(chi2, 60.0);  // 21 cells: P(chi2 > 60) < 1e-5 for a correct sampler
}

TEST(GaussianSampler, SameSeedSameStreamAnyOffset) {
  const GaussianSampler& g = GaussianSampler::standard();
  const Seed seed = random_seed();
  std::vector<int32_t> whole(100000), part(5000);
  g.sample(seed, 0, whole.size(), whole.data());
  for (uint64_t first : {0ull, 1ull, 4097ull, 50000ull}) {
    g.sample(seed, first, part.size(), part.data());
    for (size_t i = 0; i < part.size(); ++i) ASSERT_EQ(part[i], whole[first + i]);
  }
  std::vector<int32_t> other(whole.size());
  g.sample(random_seed(), 0, other.size(), other.data());
  EXPECT_NE(whole, other);
}

}  // namespace
}  // namespace cipherlora
