// The integer facts the he tests write their expected values with, written out here rather than
// taken from the code under test: a mask of the low bits, and rounding half away from zero; and
// the limb products the fused passes are tested on.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace cipherlora::test {

// 2^bits − 1, for bits in 1..64.
inline uint64_t low_bits(int bits) {
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

// The integer nearest to c, halves away from zero.
inline int64_t nearest(double c) {
  return static_cast<int64_t>(std::trunc(c + std::copysign(0.5, c)));
}

// A limb product for coefficient n: every fourth one large (up to 2^40), the others near or at
// halves, where rounding is decided.
inline double limb_product(int64_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  return n % 4 == 0 ? std::ldexp(u(rng), 40) : std::floor(u(rng) * 1000) + (n % 3) * 0.5;
}

}  // namespace cipherlora::test
