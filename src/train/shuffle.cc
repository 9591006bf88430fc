#include "train/shuffle.h"

#include <cassert>
#include <numeric>
#include <string>
#include <utility>

#include "common/error.h"

namespace cipherlora {

uint64_t splitmix64_mix(uint64_t state) {
  uint64_t z = state + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t SplitMix64::next() {
  const uint64_t out = splitmix64_mix(state_);
  state_ += 0x9e3779b97f4a7c15ULL;
  return out;
}

uint64_t SplitMix64::below(uint64_t bound) {
  assert(bound > 0);
  // 2^64 mod bound: the lowest values that would make the last, incomplete block of residues.
  const uint64_t reject_below = (0 - bound) % bound;
  uint64_t r = next();
  while (r < reject_below) r = next();
  return r % bound;
}

std::vector<int64_t> epoch_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  require(n >= 0, "cannot shuffle " + std::to_string(n) + " examples");
  SplitMix64 rng(splitmix64_mix(splitmix64_mix(seed) ^ static_cast<uint64_t>(epoch)));
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  for (int64_t i = n - 1; i >= 1; --i) {
    const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

}  // namespace cipherlora
