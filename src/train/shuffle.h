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

namespace cipherlora {

// SplitMix64: state += 0x9e3779b97f4a7c15, then the output is a bijective mix of the state.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t next();
  // Uniform in [0, bound) without modulo bias; bound must be > 0.
  uint64_t below(uint64_t bound);

 private:
  uint64_t state_;
};

// The output SplitMix64 would give from `state` (one step), used to derive stream seeds.
uint64_t splitmix64_mix(uint64_t state);

// A permutation of [0, n) for the given seed and epoch; n >= 0 (throws Error otherwise).
std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch);

}  // namespace cipherlora
