#include "train/shuffle.h"

#include <numeric>
#include <string>
#include <utility>

#include "common/error.h"

namespace cipherlora {

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
