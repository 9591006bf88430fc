#include "common/splitmix64.h"

#include <cassert>

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

}  // namespace cipherlora
