// The bf16 kernels: rounding fp32 -> bf16 bit for bit on hand-picked values (ties to even,
// overflow, NaN, subnormals) and against formats/half.h's scalar rounding; the bf16 product
// against a double-precision product of the same bf16-rounded inputs, within the worst-case error
// of fp32 accumulation.
#include "tensor/bf16_gemm.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "formats/half.h"
#include "tensor/test_util.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

uint16_t round_one(uint32_t bits) {
  const float f = std::bit_cast<float>(bits);
  uint16_t out = 0xdead;
  round_to_bf16(&f, 1, &out);
  return out;
}

float widen(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

TEST(RoundToBf16, HandPickedValues) {
  struct Case {
    uint32_t in;
    uint16_t want;
    const char* what;
  };
  const Case cases[] = {
      {0x00000000u, 0x0000, "+0"},
      {0x80000000u, 0x8000, "-0"},
      {0x3f800000u, 0x3f80, "1"},
      {0x3f807fffu, 0x3f80, "just below the halfway point rounds down"},
      {0x3f808000u, 0x3f80, "tie, kept bit even: stays"},
      {0x3f808001u, 0x3f81, "just above the halfway point rounds up"},
      {0x3f818000u, 0x3f82, "tie, kept bit odd: rounds up to even"},
      {0xbf808000u, 0xbf80, "negative tie to even (down in magnitude)"},
      {0xbf818000u, 0xbf82, "negative tie to even (up in magnitude)"},
      {0x3f7fffffu, 0x3f80, "carry into the exponent: 1 - 2^-24 -> 1"},
      {0x40490fdbu, 0x4049, "pi"},
      {0x7f7f7fffu, 0x7f7f, "below the halfway point to inf: largest bf16"},
      {0x7f7f8000u, 0x7f80, "halfway to inf, kept bit odd: inf"},
      {0x7f7fffffu, 0x7f80, "FLT_MAX overflows to inf"},
      {0xff7fffffu, 0xff80, "-FLT_MAX overflows to -inf"},
      {0x7f800000u, 0x7f80, "inf"},
      {0xff800000u, 0xff80, "-inf"},
      {0x7fc00000u, 0x7fc0, "quiet NaN"},
      {0xffc00000u, 0xffc0, "negative quiet NaN"},
      {0x7f800001u, 0x7fc0, "signalling NaN with payload only in the dropped bits stays NaN"},
      {0x7fffffffu, 0x7fff, "NaN with all payload bits does not carry into the sign"},
      {0xff800001u, 0xffc0, "negative signalling NaN"},
      {0x7fa00000u, 0x7fe0, "NaN payload kept, quiet bit set"},
      {0x00000001u, 0x0000, "smallest subnormal rounds to +0"},
      {0x80000001u, 0x8000, "negative smallest subnormal rounds to -0"},
      {0x00008000u, 0x0000, "subnormal tie, kept bit even"},
      {0x00018000u, 0x0002, "subnormal tie, kept bit odd"},
      {0x00008001u, 0x0001, "subnormal above the tie: smallest bf16 subnormal"},
      {0x00400000u, 0x0040, "exact subnormal"},
      {0x807fffffu, 0x8080, "largest subnormal rounds up to the smallest normal"},
  };
  for (const Case& c : cases) EXPECT_EQ(round_one(c.in), c.want) << c.what << std::hex;
  // Every result that should be NaN is one.
  for (uint32_t nan : {0x7f800001u, 0x7fffffffu, 0xff800001u, 0x7fa00000u})
    EXPECT_TRUE(std::isnan(widen(round_one(nan)))) << std::hex << nan;
}

TEST(RoundToBf16, MatchesScalarRoundingOnRandomBitsAtEveryLength) {
  // Random bit patterns cover every exponent, NaNs and subnormals. Lengths cover vector tails and
  // the multi-threaded path (above 2^16 values).
  std::mt19937 rng(3);
  for (int64_t n : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{33}, int64_t{1000},
                    (int64_t{1} << 16) + 1, int64_t{300001}}) {
    std::vector<float> src(n);
    for (float& x : src) x = std::bit_cast<float>(static_cast<uint32_t>(rng()));
    std::vector<uint16_t> got(n + 1, 0xbeef);  // one guard value past the end
    round_to_bf16(src.data(), n, got.data());
    int misses = 0;
    for (int64_t i = 0; i < n; ++i)
      if (got[i] != fp32_to_bf16(src[i]) && ++misses <= 3)
        ADD_FAILURE() << "n " << n << " i " << i << ": " << std::hex
                      << std::bit_cast<uint32_t>(src[i]) << " -> " << got[i] << ", want "
                      << fp32_to_bf16(src[i]);
    EXPECT_EQ(misses, 0) << "n " << n;
    EXPECT_EQ(got[n], 0xbeef) << "wrote past the end, n " << n;
  }
}

TEST(RoundToBf16, IsTheNearestBf16) {
  // Independent of any bit trick: the result is one of the two bf16 neighbours and no farther
  // from x than the other one.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> d(-1e3f, 1e3f);
  for (int i = 0; i < 20000; ++i) {
    const float x = d(rng);
    const uint16_t r = round_one(std::bit_cast<uint32_t>(x));
    const uint16_t down = static_cast<uint16_t>(std::bit_cast<uint32_t>(x) >> 16);  // toward 0
    const uint16_t up = static_cast<uint16_t>(down + 1);                            // away
    ASSERT_TRUE(r == down || r == up) << x;
    const double e_r = std::fabs(static_cast<double>(widen(r)) - x);
    const double e_other = std::fabs(static_cast<double>(widen(r == down ? up : down)) - x);
    ASSERT_LE(e_r, e_other) << x;
  }
}

// Rounds v to bf16.
std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  round_to_bf16(v.data(), static_cast<int64_t>(v.size()), out.data());
  return out;
}

struct Product {
  std::vector<double> value;  // [M, N] Σ a·b in double
  std::vector<double> mag;    // [M, N] Σ |a·b|
};

// op(A)·op(B) in double from the given (already widened) values.
Product reference(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const std::vector<float>& A,
                  int64_t lda, const std::vector<float>& B, int64_t ldb) {
  Product p{std::vector<double>(M * N), std::vector<double>(M * N)};
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double acc = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const double a = ta ? A[k * lda + i] : A[i * lda + k];
        const double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
        mag += std::fabs(a * b);
      }
      p.value[i * N + j] = acc, p.mag[i * N + j] = mag;
    }
  return p;
}

// Worst-case error of summing K products, each exact in fp32 (8-bit × 8-bit significands), in
// fp32 in any order: γ_(K-1) · Σ|a·b| with γ_n = n·u / (1 - n·u), u = 2^-24 (Higham, Thm 3.1).
double accumulation_bound(int64_t K, double mag) {
  const double nu = static_cast<double>(K - 1) * std::ldexp(1.0, -24);
  return nu / (1.0 - nu) * mag;
}

// Elements of got [M, ldc] outside the bound around want, counted (first few reported).
int count_misses(const std::vector<float>& got, int64_t ldc, const Product& want, int64_t M,
                 int64_t N, int64_t K, const std::string& what, bool report) {
  int misses = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      const double err = std::fabs(got[i * ldc + j] - want.value[i * N + j]);
      if (!(err <= accumulation_bound(K, want.mag[i * N + j])) && ++misses <= 3 && report)
        ADD_FAILURE() << what << " C[" << i << "," << j << "] = " << got[i * ldc + j] << ", want "
                      << want.value[i * N + j] << " ± "
                      << accumulation_bound(K, want.mag[i * N + j]);
    }
  return misses;
}

// Runs bf16_gemm on padded buffers of the given values and checks it against the double product
// of the bf16-rounded values; C's padding must survive.
void check_product(bool ta, bool tb, int64_t M, int64_t N, int64_t K, std::vector<float> A,
                   std::vector<float> B, int64_t lda, int64_t ldb, const std::string& what) {
  SCOPED_TRACE(what + " ta=" + std::to_string(ta) + " tb=" + std::to_string(tb) +
               " M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K));
  const std::vector<uint16_t> Ab = to_bf16(A), Bb = to_bf16(B);
  std::vector<float> Ar(A.size()), Br(B.size());  // the rounded values, widened exactly
  for (size_t i = 0; i < A.size(); ++i) Ar[i] = widen(Ab[i]);
  for (size_t i = 0; i < B.size(); ++i) Br[i] = widen(Bb[i]);
  const int64_t ldc = N + 3;
  const float sentinel = 12345.0f;
  std::vector<float> C(M * ldc, std::numeric_limits<float>::quiet_NaN());  // C is not read
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = N; j < ldc; ++j) C[i * ldc + j] = sentinel;
  bf16_gemm(ta, tb, M, N, K, Ab.data(), lda, Bb.data(), ldb, C.data(), ldc);
  EXPECT_EQ(count_misses(C, ldc, reference(ta, tb, M, N, K, Ar, lda, Br, ldb), M, N, K, what, true),
            0);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = N; j < ldc; ++j) ASSERT_EQ(C[i * ldc + j], sentinel) << "padding overwritten";
}

TEST(Bf16Gemm, MatchesDoubleProductOfRoundedInputsForAllTransposes) {
  struct Shape {
    int64_t M, N, K;
  };
  const Shape shapes[] = {{1, 1, 1},     {7, 5, 3},     {33, 17, 65},
                          {64, 130, 19}, {3, 200, 129}, {40, 96, 576}};
  uint32_t seed = 1;
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (const Shape& s : shapes) {
          const int64_t lda = (ta ? s.M : s.K) + 3, ldb = (tb ? s.K : s.N) + 5;  // padded rows
          auto A = test::random_floats((ta ? s.K : s.M) * lda, seed++);
          auto B = test::random_floats((tb ? s.N : s.K) * ldb, seed++);
          check_product(ta, tb, s.M, s.N, s.K, A, B, lda, ldb,
                        "random, " + std::to_string(threads) + " threads");
        }
  }
  set_num_threads(2);
}

TEST(Bf16Gemm, EngineShapesAndTheInputsAreRounded) {
  // The engine's calls: y = x·Wᵀ and dx = dy·W. Positive inputs that bf16 rounding always moves
  // the same way make the rounding visible: the double product of the *unrounded* inputs lies
  // outside the bound, so a kernel that skipped rounding (or one computing in fp32) would fail.
  const int64_t T = 96, in = 576, out = 160;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> d(0.5f, 1.0f);
  auto skewed = [&](int64_t n) {
    std::vector<float> v(n);
    // A bf16 value raised by 0.45·2^-8 relative, i.e. 0.225 to 0.45 of its unit in the last
    // place: rounding always takes it back down.
    for (float& x : v) x = widen(fp32_to_bf16(d(rng))) * (1.0f + 0.45f * std::ldexp(1.0f, -8));
    return v;
  };
  const std::vector<float> x = skewed(T * in), w = skewed(out * in);
  check_product(false, true, T, out, in, x, w, in, in, "forward x·Wᵀ");
  check_product(false, false, T, in, out, skewed(T * out), w, out, in, "backward dy·W");

  std::vector<float> y(T * out);
  bf16_gemm(false, true, T, out, in, to_bf16(x).data(), in, to_bf16(w).data(), in, y.data(), out);
  const int unrounded_misses =
      count_misses(y, out, reference(false, true, T, out, in, x, in, w, in), T, out, in, "", false);
  EXPECT_EQ(unrounded_misses, T * out) << "the test cannot tell rounded from unrounded inputs";
}

TEST(Bf16Gemm, EmptyShapes) {
  std::vector<float> C = {1.0f, 2.0f, 3.0f, 4.0f};
  uint16_t dummy = 0;
  bf16_gemm(false, false, 2, 2, 0, &dummy, 1, &dummy, 2, C.data(), 2);  // K = 0: C = 0
  EXPECT_EQ(C, (std::vector<float>{0.0f, 0.0f, 0.0f, 0.0f}));
  C = {5.0f};
  bf16_gemm(false, false, 0, 1, 3, &dummy, 3, &dummy, 1, C.data(), 1);  // M = 0: nothing
  EXPECT_EQ(C[0], 5.0f);
}

TEST(Bf16Gemm, KernelName) {
  // Native: oneDNN's bf16 matmul on bf16 units; otherwise the widened sgemm, named as such.
  // (Run with DNNL_MAX_CPU_ISA=AVX2 or AVX512_CORE to take the widened path on any CPU.)
  const std::string name = bf16_gemm_kernel_name();
  if (bf16_gemm_is_native()) {
    ASSERT_NE(name.find("bf16 matmul ("), std::string::npos) << name;
    const std::string impl = name.substr(name.find('('));
    EXPECT_TRUE(impl.find("bf16") != std::string::npos || impl.find("amx") != std::string::npos)
        << name;
  } else {
    EXPECT_NE(name.find("widened to fp32"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace cipherlora
