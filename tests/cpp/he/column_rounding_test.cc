// Decryption's rounding against the formula written out here, for both kernels, packed and
// unpacked inputs, int32 and int64 outputs, token counts around the 8-coefficient groups, and the
// wire widths the plans use, with one, two and three or more limbs (LimbSum's prev and lower
// terms).
#include "he/column_rounding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "he/bit_packing.h"
#include "he/bits_reference.h"

namespace cipherlora {
namespace {

using test::limb_product;
using test::low_bits;
using test::nearest;

// y = the (log_q − d)-bit two's complement value of round(phase / 2^d), phase =
// (b·2^b_shift − product) mod 2^log_q, product = lower + nearest(prev)·2^prev_offset +
// nearest(prod)·2^offset, without the terms the limbs do not reach.
int64_t expected(uint64_t b, uint64_t lower, double prev, double prod, const LimbSum& sum,
                 int limbs, const RoundingPlan& p) {
  uint64_t product = static_cast<uint64_t>(nearest(prod)) << sum.offset;
  if (limbs >= 2) product += static_cast<uint64_t>(nearest(prev)) << sum.prev_offset;
  if (limbs >= 3) product += lower;
  const uint64_t phase = ((b << p.b_shift) - product) & low_bits(p.log_q);
  const uint64_t rounded =
      ((phase + (uint64_t{1} << (p.log_delta - 1))) & low_bits(p.log_q)) >> p.log_delta;
  const int y_bits = p.log_q - p.log_delta;
  const uint64_t top = uint64_t{1} << (y_bits - 1);
  return rounded >= top ? static_cast<int64_t>(rounded) - (int64_t{1} << y_bits)
                        : static_cast<int64_t>(rounded);
}

template <class Y>
void check(int b_bits, const RoundingPlan& p, int64_t T, int limbs, RoundingKernel kernel,
           std::mt19937_64& rng) {
  const int64_t N = 64;  // a column of the wire holds N coefficients; T <= N are rounded
  std::vector<uint64_t> b(N), lower(N);
  std::vector<double> prod(N), prev(N);
  for (int64_t t = 0; t < N; ++t) {
    b[t] = rng() & low_bits(b_bits);
    lower[t] = rng();
    prod[t] = limb_product(t, rng);
    prev[t] = limb_product(t + 3, rng);  // large where prod is not
  }
  const LimbSum sum{.prod = prod.data(),
                    .offset = static_cast<int>(rng() % 30),
                    .prev = limbs >= 2 ? prev.data() : nullptr,
                    .prev_offset = static_cast<int>(rng() % 8),
                    .lower = limbs >= 3 ? lower.data() : nullptr};
  std::vector<uint8_t> packed(packed_size(N, b_bits));
  pack_bits(b, b_bits, packed);
  std::vector<Y> y_packed(T, -1), y_plain(T, -1);
  std::vector<uint64_t> scratch(T);
  round_packed_column(packed.data(), b_bits, sum, T, p, y_packed.data(), scratch.data(), kernel);
  round_column(b.data(), sum, T, p, y_plain.data(), nullptr);
  for (int64_t t = 0; t < T; ++t) {
    const int64_t want = expected(b[t], lower[t], prev[t], prod[t], sum, limbs, p);
    ASSERT_EQ(y_packed[t], static_cast<Y>(want)) << b_bits << " T=" << T << " t=" << t;
    ASSERT_EQ(y_plain[t], static_cast<Y>(want)) << b_bits << " T=" << T << " t=" << t;
  }
}

TEST(ColumnRounding, MatchesTheFormula) {
  std::mt19937_64 rng(3);
  // (b bits, log_q, Δ bits): the plans' narrow sets, then wide ones.
  const int sets[][3] = {{26, 42, 18}, {28, 45, 19}, {29, 47, 20},
                         {16, 30, 10}, {47, 60, 20}, {63, 64, 24}};
  for (const auto& set : sets) {
    const RoundingPlan p{set[1] - set[0], set[1], set[2]};
    for (int64_t T : {1, 7, 8, 9, 33, 64})
      for (int limbs : {1, 2, 3})
        for (RoundingKernel kernel : {RoundingKernel::kBest, RoundingKernel::kPortable}) {
          check<int64_t>(set[0], p, T, limbs, kernel, rng);
          if (p.log_q - p.log_delta <= 32) check<int32_t>(set[0], p, T, limbs, kernel, rng);
        }
  }
}

}  // namespace
}  // namespace cipherlora
