#include "he/ternary_secret.h"

#include <gtest/gtest.h>

#include <vector>

#include "he/aes_ctr.h"

namespace cipherlora {
namespace {

TEST(TernarySecret, FromSeedFollowsTheKeystreamRule) {
  Seed seed;
  for (int i = 0; i < 32; ++i) seed.bytes[i] = static_cast<uint8_t>(i);
  const TernarySecret s = TernarySecret::from_seed(seed, 11);
  ASSERT_EQ(s.coefficients().size(), 2048u);
  // Known answer: the first keystream bytes f2 90 00 b6 2a 49 9f d0 (aes_ctr_test.cc) give
  // (b mod 3) - 1 = 242%3-1, 144%3-1, 0%3-1, 182%3-1, 42%3-1, 73%3-1, 159%3-1, 208%3-1.
  const int8_t expect[8] = {1, -1, -1, 1, -1, 0, -1, 0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(s.coefficients()[i], expect[i]) << i;
  // The rule, applied independently to the raw keystream (skipping bytes 255).
  std::vector<uint8_t> ks(4096);
  aes256_ctr_keystream(seed, 0, ks.data(), ks.size());
  size_t j = 0;
  for (int8_t c : s.coefficients()) {
    while (ks[j] == 255) ++j;
    ASSERT_EQ(c, static_cast<int8_t>(ks[j] % 3) - 1);
    ++j;
  }
}

TEST(TernarySecret, FreshSecretsAreBalancedAndDistinct) {
  const TernarySecret a = TernarySecret::fresh(12), b = TernarySecret::fresh(12);
  EXPECT_FALSE(
      std::equal(a.coefficients().begin(), a.coefficients().end(), b.coefficients().begin()));
  int counts[3] = {0, 0, 0};
  for (int8_t c : a.coefficients()) {
    ASSERT_GE(c, -1);
    ASSERT_LE(c, 1);
    ++counts[c + 1];
  }
  for (int c : counts) EXPECT_NEAR(c, 4096 / 3.0, 150);  // > 5 standard deviations
}

}  // namespace
}  // namespace cipherlora
