// SplitMix64 (Steele, Lea & Flood; Vigna's reference constants): a tiny, well-mixed generator
// for reproducible, platform-independent randomness that needs no secrecy — shuffling training
// examples, dropout masks. (Secrets come from libsodium's CSPRNG, never from here.)
//
//   SplitMix64 rng(splitmix64_mix(seed));
//   uint64_t r = rng.below(10);   // uniform in [0, 10)
#pragma once

#include <cstdint>

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

}  // namespace cipherlora
