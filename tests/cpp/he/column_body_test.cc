// Encryption's last step against the formula written out here: unpacked, and packed by both
// kernels (compared byte for byte with pack_bits of the formula's values), at the plans' moduli,
// token counts around the 8-coefficient groups, with one, two and three or more limbs (LimbSum's
// prev and lower terms).
#include "he/column_body.h"

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

TEST(ColumnBody, MatchesTheFormulaUnpackedAndPacked) {
  std::mt19937_64 rng(5);
  const int64_t N = 64;
  for (int log_q : {20, 30, 42, 45, 47, 63, 64})
    for (int64_t T : {1, 7, 8, 33, 64})
      for (int limbs : {1, 2, 3}) {
        const BodyPlan plan{log_q, log_q / 3};
        std::vector<uint64_t> lower(N);
        std::vector<double> prod(N), prev(N);
        std::vector<int32_t> e(N), x(T);
        for (int64_t n = 0; n < N; ++n) {
          lower[n] = rng();
          prod[n] = limb_product(n, rng);
          prev[n] = limb_product(n + 1, rng);
          e[n] = static_cast<int32_t>(rng() % 83) - 41;
        }
        for (auto& v : x) v = static_cast<int32_t>(rng() % 256) - 128;
        const int offset = static_cast<int>(rng() % 24), prev_offset = static_cast<int>(rng() % 8);
        // b = lower + nearest(prev)·2^prev_offset + nearest(prod)·2^offset + e + x·Δ mod 2^log_q,
        // without the lower and prev terms where the limbs do not reach them.
        std::vector<uint64_t> want(N);
        for (int64_t n = 0; n < N; ++n) {
          const uint64_t message =
              n < T ? static_cast<uint64_t>(int64_t{x[n]}) << plan.log_delta : 0;
          uint64_t v = (static_cast<uint64_t>(nearest(prod[n])) << offset) +
                       static_cast<uint64_t>(int64_t{e[n]}) + message;
          if (limbs >= 2) v += static_cast<uint64_t>(nearest(prev[n])) << prev_offset;
          if (limbs >= 3) v += lower[n];
          want[n] = v & low_bits(log_q);
        }
        SCOPED_TRACE("log_q " + std::to_string(log_q) + " T " + std::to_string(T) + " limbs " +
                     std::to_string(limbs));
        std::vector<uint64_t> b = lower;  // the lower term is summed in place, as the client does
        const LimbSum sum{.prod = prod.data(),
                          .offset = offset,
                          .prev = limbs >= 2 ? prev.data() : nullptr,
                          .prev_offset = prev_offset,
                          .lower = limbs >= 3 ? b.data() : nullptr};
        finish_body(b.data(), sum, e.data(), x.data(), T, N, plan);
        ASSERT_EQ(b, want);
        std::vector<uint8_t> want_packed(packed_size(N, log_q));
        pack_bits(want, log_q, want_packed);
        for (BodyKernel kernel : {BodyKernel::kBest, BodyKernel::kPortable}) {
          std::vector<uint64_t> scratch = lower;
          LimbSum in_scratch = sum;
          if (in_scratch.lower) in_scratch.lower = scratch.data();
          std::vector<uint8_t> packed(want_packed.size(), 0xAB);
          finish_packed_body(in_scratch, e.data(), x.data(), T, N, plan, packed.data(),
                             scratch.data(), kernel);
          ASSERT_EQ(packed, want_packed);
        }
      }
}

}  // namespace
}  // namespace cipherlora
