// Seeded shuffling. Expected outputs: SplitMix64's published reference values, and permutations
// computed by the independent Python implementation `epoch_permutation` in
// tests/reference/test_optim_reference.py (which also checks the C++ one on random seeds).
#include "train/shuffle.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "formats/test_util.h"

namespace cipherlora {
namespace {

using Perm = std::vector<int64_t>;

TEST(SplitMix64, ReferenceOutputs) {
  SplitMix64 zero(0);  // Vigna's splitmix64.c from state 0
  EXPECT_EQ(zero.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(zero.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(zero.next(), 0x06c45d188009454fULL);
  SplitMix64 r(1234567);  // the Rosetta Code "Pseudo-random numbers/Splitmix64" task
  EXPECT_EQ(r.next(), 6457827717110365317ULL);
  EXPECT_EQ(r.next(), 3203168211198807973ULL);
  EXPECT_EQ(r.next(), 9817491932198370423ULL);
}

TEST(SplitMix64, BelowRejectsTheBiasedTail) {
  // From state 99 (Python): below(1) = 0, below(3) = 0, below(10) = 7, below(1000) = 807, and
  // below(2^63 + 5) = 3152424238367765822 (that bound rejects draws below 2^63 - 5).
  SplitMix64 r(99);
  EXPECT_EQ(r.below(1), 0u);
  EXPECT_EQ(r.below(3), 0u);
  EXPECT_EQ(r.below(10), 7u);
  EXPECT_EQ(r.below(1000), 807u);
  EXPECT_EQ(r.below((1ULL << 63) + 5), 3152424238367765822ULL);
}

TEST(EpochPermutation, PinnedOrders) {
  EXPECT_EQ(epoch_permutation(10, 0, 0), (Perm{1, 7, 6, 2, 0, 9, 8, 4, 5, 3}));
  EXPECT_EQ(epoch_permutation(10, 0, 1), (Perm{7, 9, 6, 8, 1, 5, 0, 4, 3, 2}));
  EXPECT_EQ(epoch_permutation(10, 42, 0), (Perm{6, 1, 8, 5, 2, 7, 4, 3, 9, 0}));
  EXPECT_EQ(epoch_permutation(16, 12345, 3),
            (Perm{6, 13, 4, 5, 15, 8, 7, 10, 3, 12, 9, 2, 1, 14, 11, 0}));
  EXPECT_EQ(epoch_permutation(20, 2024, 7),
            (Perm{6, 0, 2, 13, 3, 19, 5, 16, 11, 18, 10, 9, 4, 1, 8, 15, 14, 7, 17, 12}));
  EXPECT_EQ(epoch_permutation(2, 0, 0), (Perm{0, 1}));
  EXPECT_EQ(epoch_permutation(2, 0, 1), (Perm{1, 0}));
  EXPECT_EQ(epoch_permutation(1, 7, 0), (Perm{0}));
  EXPECT_EQ(epoch_permutation(0, 7, 0), Perm{});
}

TEST(EpochPermutation, IsAPermutationThatChangesWithTheEpoch) {
  const Perm a = epoch_permutation(1000, 5, 0), b = epoch_permutation(1000, 5, 1);
  Perm sorted = a;
  std::sort(sorted.begin(), sorted.end());
  Perm iota(1000);
  std::iota(iota.begin(), iota.end(), int64_t{0});
  EXPECT_EQ(sorted, iota);
  EXPECT_NE(a, b);
  EXPECT_NE(a, epoch_permutation(1000, 6, 0));
  EXPECT_EQ(a, epoch_permutation(1000, 5, 0));
}

TEST(EpochPermutation, RejectsNegativeCount) {
  test::expect_error([] { epoch_permutation(-1, 0, 0); }, {"-1 examples"});
}

}  // namespace
}  // namespace cipherlora
