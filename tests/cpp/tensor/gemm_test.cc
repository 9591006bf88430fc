#include "tensor/gemm.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"
#include "tensor/test_util.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

struct GemmCase {
  int64_t M, N, K;
};

// Runs sgemm on padded row-major buffers and compares with a double-precision triple loop.
void check_gemm(bool ta, bool tb, GemmCase c, float alpha, float beta, uint32_t seed) {
  const int64_t a_rows = ta ? c.K : c.M, a_cols = ta ? c.M : c.K;
  const int64_t b_rows = tb ? c.N : c.K, b_cols = tb ? c.K : c.N;
  const int64_t lda = a_cols + 3, ldb = b_cols + 5, ldc = c.N + 2;  // leading dims > cols
  auto A = test::random_floats(a_rows * lda, seed);
  auto B = test::random_floats(b_rows * ldb, seed + 1);
  auto C = test::random_floats(c.M * ldc, seed + 2);
  const float sentinel = 12345.0f;
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = c.N; j < ldc; ++j) C[i * ldc + j] = sentinel;  // padding must survive
    if (beta == 0.0f)
      for (int64_t j = 0; j < c.N; ++j) C[i * ldc + j] = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<double> want(c.M * c.N), bound(c.M * c.N);
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < c.N; ++j) {
      double acc = 0, mag = 0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = ta ? A[k * lda + i] : A[i * lda + k];
        const double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
        mag += std::fabs(a * b);
      }
      const double c0 = beta == 0.0f ? 0.0 : static_cast<double>(C[i * ldc + j]);
      want[i * c.N + j] = alpha * acc + beta * c0;
      bound[i * c.N + j] = 1e-6 * (std::fabs(alpha) * mag + std::fabs(beta * c0)) + 1e-7;
    }
  }
  sgemm(ta, tb, c.M, c.N, c.K, alpha, A.data(), lda, B.data(), ldb, beta, C.data(), ldc);
  int misses = 0;
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < ldc; ++j) {
      const float got = C[i * ldc + j];
      const bool ok =
          j >= c.N ? got == sentinel : std::fabs(got - want[i * c.N + j]) <= bound[i * c.N + j];
      if (!ok && ++misses <= 3)
        ADD_FAILURE() << "ta=" << ta << " tb=" << tb << " M=" << c.M << " N=" << c.N << " K=" << c.K
                      << " C[" << i << "," << j << "] = " << got << ", want "
                      << (j >= c.N ? sentinel : want[i * c.N + j]);
    }
  }
}

TEST(Sgemm, MatchesDoubleReferenceForAllTransposes) {
  const GemmCase cases[] = {{1, 1, 1}, {7, 5, 3}, {33, 17, 65}, {64, 130, 19}, {3, 200, 129}};
  uint32_t seed = 1;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (GemmCase c : cases) {
        check_gemm(ta, tb, c, 1.0f, 0.0f, seed++);
        check_gemm(ta, tb, c, 0.7f, 0.3f, seed++);
        check_gemm(ta, tb, c, -1.5f, 1.0f, seed++);
      }
}

TEST(Sgemm, EmptyKScalesC) {
  std::vector<float> C = {1.0f, 2.0f, 3.0f, 4.0f};
  float dummy = 0.0f;
  sgemm(false, false, 2, 2, 0, 1.0f, &dummy, 1, &dummy, 2, 0.5f, C.data(), 2);
  EXPECT_EQ(C, (std::vector<float>{0.5f, 1.0f, 1.5f, 2.0f}));
}

TEST(Sgemm, CorrectInsideParallelRegion) {
  // Each thread multiplies its own pair; sgemm must run single-threaded there and stay correct.
  const int64_t M = 40, N = 24, K = 33;
  const int n = 4;
  std::vector<std::vector<float>> A(n), B(n), C(n);
  for (int i = 0; i < n; ++i) {
    A[i] = test::random_floats(M * K, 100 + i);
    B[i] = test::random_floats(N * K, 200 + i);
    C[i].assign(M * N, 0.0f);
  }
#pragma omp parallel for num_threads(2)
  for (int i = 0; i < n; ++i)
    sgemm(false, true, M, N, K, 1.0f, A[i].data(), K, B[i].data(), K, 0.0f, C[i].data(), N);
  for (int i = 0; i < n; ++i) {
    std::vector<double> want(M * N);
    for (int64_t r = 0; r < M; ++r)
      for (int64_t c = 0; c < N; ++c) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) acc += double(A[i][r * K + k]) * B[i][c * K + k];
        want[r * N + c] = acc;
      }
    test::expect_close(C[i], want, 1e-5, 1e-5, std::string("C") + std::to_string(i));
  }
}

TEST(Sgemm, KernelNameNamesOneDnnAndIsa) {
  const std::string name = gemm_kernel_name();
  EXPECT_NE(name.find("oneDNN"), std::string::npos) << name;
  EXPECT_EQ(name.find("unknown isa"), std::string::npos) << name;
}

TEST(Threads, SetAndGet) {
  const int before = num_threads();
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  set_num_threads(3);
  EXPECT_EQ(num_threads(), 3);
  EXPECT_THROW(set_num_threads(0), Error);
  set_num_threads(before);
  EXPECT_EQ(num_threads(), before);
}

}  // namespace
}  // namespace cipherlora
