#include "he/column_transpose.h"

#include "he/aligned_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

namespace cipherlora {
namespace {

// Against the defining loops, with both kernels, at sizes with and without whole register blocks
// (16×16 in, 8×8 out) and at aligned and unaligned destinations (streaming stores and plain ones).
class ColumnTranspose : public ::testing::TestWithParam<TransposeKernel> {};

TEST_P(ColumnTranspose, GatherMatchesTheDefinition) {
  std::mt19937 rng(1);
  for (int64_t T : {1, 7, 8, 16, 37, 64})
    for (int64_t kn : {1, 8, 13, 16, 21, 64})
      for (int64_t k0 : {0, 3}) {
        const int64_t K = k0 + kn + 5, ldt = T + 16;
        std::vector<int32_t> x(T * K), xt(kn * ldt, -1);
        for (auto& v : x) v = static_cast<int32_t>(rng());
        gather_columns(x.data(), T, K, k0, kn, xt.data(), ldt, GetParam());
        for (int64_t i = 0; i < kn; ++i)
          for (int64_t t = 0; t < T; ++t)
            ASSERT_EQ(xt[i * ldt + t], x[t * K + k0 + i]) << T << " " << kn << " " << k0;
      }
}

// Y = int64_t or int32_t (values and destination). Tiles start at aligned and unaligned columns
// (j0 = 1, 8, 13: head columns before the first whole 64-byte segment).
template <class Y>
void check_scatter(TransposeKernel kernel) {
  std::mt19937_64 rng(2);
  for (int64_t T : {1, 8, 9, 16, 40})
    for (int64_t jn : {1, 8, 11, 16, 40, 64})
      for (int64_t j0 : {0, 1, 8, 13}) {
        const int64_t m = (j0 + jn + 15) / 16 * 16 + (j0 == 1 ? 3 : 0), ldv = T + 16;
        std::vector<Y> v(jn * ldv);
        for (auto& e : v) e = static_cast<Y>(rng());
        AlignedBuffer<Y> y(T * m + 8);  // 64-byte aligned: the register path when shift = 0
        for (int64_t shift : {0, 1}) {  // y itself aligned as allocated, and one word off
          std::fill_n(y.data(), y.size(), Y{-7});
          Y* out = y.data() + shift;
          scatter_columns(v.data(), ldv, T, jn, out, m, j0, kernel);
          for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < m; ++j) {
              const int64_t want = j >= j0 && j < j0 + jn ? v[(j - j0) * ldv + t] : -7;
              ASSERT_EQ(out[t * m + j], want)
                  << sizeof(Y) << " " << T << " " << jn << " " << j0 << " " << shift;
            }
        }
      }
}

TEST_P(ColumnTranspose, ScatterMatchesTheDefinition) {
  check_scatter<int64_t>(GetParam());
  check_scatter<int32_t>(GetParam());
}

INSTANTIATE_TEST_SUITE_P(Kernels, ColumnTranspose,
                         ::testing::Values(TransposeKernel::kBest, TransposeKernel::kPortable));

}  // namespace
}  // namespace cipherlora
