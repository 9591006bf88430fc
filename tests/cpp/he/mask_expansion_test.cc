#include "he/mask_expansion.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/error.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

Seed counting_seed() {
  Seed s;
  for (int i = 0; i < 32; ++i) s.bytes[i] = static_cast<uint8_t>(i);
  return s;
}

// Known answers: the keystream of `openssl enc -aes-256-ctr -K 000102..1f` read as little-endian
// 64-bit words (iv 0 for coefficients 0..7, iv 1000 — block 1000 — for 2000..2003).
TEST(MaskExpansion, KnownAnswersFromFixedSeed) {
  std::vector<uint64_t> a(2004);
  expand_masks(counting_seed(), 64, 0, a.size(), a.data());
  EXPECT_EQ(a[0], 0xd09f492ab60090f2ull);
  EXPECT_EQ(a[1], 0x80772edd6a9af3a9ull);
  EXPECT_EQ(a[7], 0x565dffc583b39e80ull);
  EXPECT_EQ(a[2000], 0xe01fe4320ab64cc9ull);
  EXPECT_EQ(a[2003], 0xa166818db52f5ea9ull);
  // Reduced mod 2^47: the low 47 bits of the same words.
  std::vector<uint64_t> b(8);
  expand_masks(counting_seed(), 47, 0, b.size(), b.data());
  EXPECT_EQ(b[0], 0xd09f492ab60090f2ull & ((1ull << 47) - 1));
  EXPECT_EQ(b[7], 0x565dffc583b39e80ull & ((1ull << 47) - 1));
}

TEST(MaskExpansion, AnyRangeAndThreadCountGivesTheSameCoefficients) {
  const Seed seed = counting_seed();
  std::vector<uint64_t> whole(200000);
  set_num_threads(1);
  expand_masks(seed, 53, 0, whole.size(), whole.data());
  set_num_threads(2);
  std::vector<uint64_t> again(whole.size());
  expand_masks(seed, 53, 0, again.size(), again.data());
  EXPECT_EQ(whole, again);
  for (uint64_t first : {1ull, 2ull, 3ull, 2047ull, 99999ull}) {
    std::vector<uint64_t> part(70001);
    expand_masks(seed, 53, first, part.size(), part.data());
    for (size_t i = 0; i < part.size(); ++i)
      ASSERT_EQ(part[i], whole[first + i]) << first << " " << i;
  }
  for (uint64_t v : whole) ASSERT_LT(v, 1ull << 53);
}

TEST(MaskExpansion, RejectsBadModulus) {
  uint64_t x;
  EXPECT_THROW(expand_masks(counting_seed(), 0, 0, 1, &x), Error);
  EXPECT_THROW(expand_masks(counting_seed(), 65, 0, 1, &x), Error);
}

}  // namespace
}  // namespace cipherlora
