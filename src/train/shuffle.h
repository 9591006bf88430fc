// Seeded shuffling of training examples that gives the same order on every machine and with every
// standard library: SplitMix64 (Steele, Lea & Flood; Vigna's reference constants) drives a
// Fisher–Yates shuffle, and bounded draws use rejection sampling, so nothing depends on
// std::shuffle or std::uniform_int_distribution, whose outputs are implementation-defined.
//
// The permutation of epoch e with seed s is defined as:
//   state = mix(mix(s) ^ e)                      (mix = one SplitMix64 output for that state)
//   perm = [0, 1, ..., n-1]
//   for i = n-1 down to 1:  j = below(i + 1);  swap(perm[i], perm[j])
// where below(b) draws r = next() until r >= 2^64 mod b and returns r mod b.
//
//   std::vector<int64_t> order = epoch_permutation(n_examples, seed, epoch);
#pragma once

#include <cstdint>
#include <vector>

#include "common/splitmix64.h"

namespace cipherlora {

// A permutation of [0, n) for the given seed and epoch; n >= 0 (throws Error otherwise).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace cipherlora
