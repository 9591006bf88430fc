#include "tensor/int8_gemm.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "common/error.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

struct Case {
  int64_t M, N, K;
};

struct Operands {
  int64_t lda, ldb, ldc;
  std::vector<uint8_t> A;  // [M, lda]
  std::vector<int8_t> B;   // [N, ldb] (trans) or [K, ldb]
};

// Padded operands (leading dims > widths) with random values, or the extremes 255 × ±127.
Operands make_operands(const Case& c, bool trans_b, uint32_t seed, bool extreme) {
  Operands o;
  o.lda = c.K + 3;
  o.ldb = (trans_b ? c.K : c.N) + 5;
  o.ldc = c.N + 2;
  o.A.resize(c.M * o.lda);
  o.B.resize((trans_b ? c.N : c.K) * o.ldb);
  std::mt19937 rng(seed);
  for (auto& a : o.A) a = extreme ? 255 : static_cast<uint8_t>(rng());
  for (size_t i = 0; i < o.B.size(); ++i) {
    const int64_t col = trans_b ? i / o.ldb : i % o.ldb;  // the output column n
    o.B[i] = extreme ? static_cast<int8_t>(col % 3 == 1 ? -127 : 127)
                     : static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  }
  return o;
}

std::vector<int64_t> naive_product(const Case& c, bool trans_b, const Operands& o) {
  std::vector<int64_t> C(c.M * c.N, 0);
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t k = 0; k < c.K; ++k) {
      const int64_t a = o.A[m * o.lda + k];
      for (int64_t n = 0; n < c.N; ++n)
        C[m * c.N + n] += a * (trans_b ? o.B[n * o.ldb + k] : o.B[k * o.ldb + n]);
    }
  return C;
}

std::vector<Int8Kernel> kernels() {
  std::vector<Int8Kernel> k = {Int8Kernel::kPortable};
  if (onednn_int8_exact()) k.push_back(Int8Kernel::kOneDnn);
  return k;
}

void check_exact(Int8Kernel kernel, const Case& c, bool trans_b, const Operands& o,
                 const std::vector<int64_t>& want) {
  const int32_t sentinel = 0x5a5a5a5a;
  std::vector<int32_t> C(c.M * o.ldc, sentinel);
  gemm_u8s8s32(kernel, c.M, c.N, c.K, o.A.data(), o.lda, o.B.data(), o.ldb, trans_b, C.data(),
               o.ldc);
  int misses = 0;
  for (int64_t m = 0; m < c.M; ++m)
    for (int64_t n = 0; n < o.ldc; ++n) {
      const int64_t got = C[m * o.ldc + n];
      const int64_t expect = n < c.N ? want[m * c.N + n] : sentinel;
      if (got != expect && ++misses <= 3)
        ADD_FAILURE() << int8_kernel_name(kernel) << " trans_b=" << trans_b << " M=" << c.M
                      << " N=" << c.N << " K=" << c.K << " C[" << m << "," << n << "] = " << got
                      << ", want " << expect;
    }
  EXPECT_EQ(misses, 0);
}

TEST(Int8Gemm, OneDnnIsUsedWhereTheCpuHasVnni) {
  // On a VNNI machine the fast path must not be silently disabled.
  if (__builtin_cpu_supports("avx512vnni")) {
    EXPECT_TRUE(onednn_int8_exact());
  }
  EXPECT_EQ(best_int8_kernel(), onednn_int8_exact() ? Int8Kernel::kOneDnn : Int8Kernel::kPortable);
  EXPECT_FALSE(int8_kernel_name(best_int8_kernel()).empty());
}

TEST(Int8Gemm, ExactAgainstNaiveInt64AtManyShapes) {
  std::vector<Case> cases = {{1, 1, 1},    {1, 300, 3000}, {67, 1, 3000},  {67, 300, 1},
                             {16, 64, 64}, {17, 65, 63},   {67, 300, 3000}};
  std::mt19937 rng(3);
  for (int i = 0; i < 20; ++i)
    cases.push_back({1 + static_cast<int64_t>(rng() % 67), 1 + static_cast<int64_t>(rng() % 300),
                     1 + static_cast<int64_t>(rng() % 3000)});
  uint32_t seed = 100;
  for (const Case& c : cases)
    for (bool trans_b : {false, true}) {
      const Operands o = make_operands(c, trans_b, ++seed, /*extreme=*/false);
      const std::vector<int64_t> want = naive_product(c, trans_b, o);
      for (Int8Kernel kernel : kernels()) check_exact(kernel, c, trans_b, o, want);
    }
}

TEST(Int8Gemm, ExactAtTheInt32LimitWithExtremeValues) {
  // 255 · 127 · 66311 = 2^31 - 1913: one more term would overflow int32.
  for (const Case& c : {Case{1, 1, kMaxExactK}, Case{5, 7, kMaxExactK}, Case{3, 33, 4096}})
    for (bool trans_b : {false, true}) {
      const Operands o = make_operands(c, trans_b, 1, /*extreme=*/true);
      const std::vector<int64_t> want = naive_product(c, trans_b, o);
      if (c.K == kMaxExactK) {
        EXPECT_EQ(want[0], 2147481735);
        if (c.N > 1) {
          EXPECT_EQ(want[1], -2147481735);
        }
      }
      for (Int8Kernel kernel : kernels()) check_exact(kernel, c, trans_b, o, want);
    }
}

TEST(Int8Gemm, IndependentOfThreadCount) {
  const Case c{64, 200, 2000};
  const int saved = num_threads();
  for (Int8Kernel kernel : kernels())
    for (bool trans_b : {false, true}) {
      const Operands o = make_operands(c, trans_b, 9, false);
      std::vector<int32_t> one(c.M * o.ldc), two(c.M * o.ldc);
      set_num_threads(1);
      gemm_u8s8s32(kernel, c.M, c.N, c.K, o.A.data(), o.lda, o.B.data(), o.ldb, trans_b, one.data(),
                   o.ldc);
      set_num_threads(2);
      gemm_u8s8s32(kernel, c.M, c.N, c.K, o.A.data(), o.lda, o.B.data(), o.ldb, trans_b, two.data(),
                   o.ldc);
      EXPECT_EQ(one, two) << int8_kernel_name(kernel);
    }
  set_num_threads(saved);
}

TEST(Int8Gemm, EmptyAndOversizedShapes) {
  std::vector<uint8_t> A(4, 1);
  std::vector<int8_t> B(4, 1);
  std::vector<int32_t> C(4, 7);
  for (Int8Kernel kernel : kernels()) {
    gemm_u8s8s32(kernel, 2, 2, 0, A.data(), 2, B.data(), 2, true, C.data(), 2);
    EXPECT_EQ(C, std::vector<int32_t>(4, 0));  // an empty sum is 0
    EXPECT_THROW(gemm_u8s8s32(kernel, 1, 1, kMaxExactK + 1, A.data(), kMaxExactK + 1, B.data(),
                              kMaxExactK + 1, true, C.data(), 1),
                 Error);
  }
}

}  // namespace
}  // namespace cipherlora
