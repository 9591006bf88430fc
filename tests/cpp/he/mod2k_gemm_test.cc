#include "he/mod2k_gemm.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/error.h"
#include "he/bits_reference.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

using test::low_bits;

enum class Fill { kRandom, kMax, kZero };  // coefficients: uniform, all 2^log_q - 1, all 0

struct Case {
  int64_t K, N, m;
  int log_q;
  int count = 2;
  bool trans_w = true;
  Fill coeffs = Fill::kRandom;
  int w_const = 0;  // 0: random W in [-128, 127]; else every weight equals w_const
};

std::string describe(const Case& c) {
  return "K=" + std::to_string(c.K) + " N=" + std::to_string(c.N) + " m=" + std::to_string(c.m) +
         " log_q=" + std::to_string(c.log_q) + " count=" + std::to_string(c.count) +
         " trans_w=" + std::to_string(c.trans_w) + " fill=" + std::to_string(int(c.coeffs)) +
         " w=" + std::to_string(c.w_const);
}

struct Operands {
  std::vector<std::vector<uint64_t>> in;  // count × [K, N]
  std::vector<int8_t> W;                  // [m, K] if trans_w else [K, m]
};

Operands make_operands(const Case& c, uint32_t seed) {
  std::mt19937_64 rng(seed);
  Operands o;
  o.in.resize(c.count);
  for (auto& x : o.in) {
    x.resize(c.K * c.N);
    for (auto& v : x)
      v = c.coeffs == Fill::kMax    ? low_bits(c.log_q)
          : c.coeffs == Fill::kZero ? 0
                                    : rng() & low_bits(c.log_q);
  }
  o.W.resize(c.K * c.m);
  for (auto& w : o.W)
    w = static_cast<int8_t>(c.w_const ? c.w_const : static_cast<int>(rng() % 256) - 128);
  return o;
}

// The independent reference: a plain triple loop in unsigned 64-bit wraparound.
std::vector<std::vector<uint64_t>> naive_products(const Case& c, const Operands& o) {
  std::vector<std::vector<uint64_t>> out(c.count, std::vector<uint64_t>(c.m * c.N, 0));
  for (int ci = 0; ci < c.count; ++ci)
    for (int64_t j = 0; j < c.m; ++j) {
      uint64_t* y = out[ci].data() + j * c.N;
      for (int64_t k = 0; k < c.K; ++k) {
        const int8_t w = c.trans_w ? o.W[j * c.K + k] : o.W[k * c.m + j];
        const uint64_t wu = static_cast<uint64_t>(static_cast<int64_t>(w));
        const uint64_t* x = o.in[ci].data() + k * c.N;
        for (int64_t n = 0; n < c.N; ++n) y[n] += wu * x[n];
      }
      for (int64_t n = 0; n < c.N; ++n) y[n] &= low_bits(c.log_q);
    }
  return out;
}

std::vector<Int8Kernel> kernels() {
  std::vector<Int8Kernel> k = {Int8Kernel::kPortable};
  if (onednn_int8_exact()) k.push_back(Int8Kernel::kOneDnn);
  return k;
}

std::vector<std::vector<uint64_t>> run(Int8Kernel kernel, const Case& c, const Operands& o) {
  // Outputs start as garbage: every element must be overwritten.
  std::vector<std::vector<uint64_t>> out(c.count, std::vector<uint64_t>(c.m * c.N, 0xdeadbeefcafe));
  std::vector<const uint64_t*> in_ptrs;
  std::vector<uint64_t*> out_ptrs;
  for (int ci = 0; ci < c.count; ++ci) {
    in_ptrs.push_back(o.in[ci].data());
    out_ptrs.push_back(out[ci].data());
  }
  mod2k_products(kernel, c.count, in_ptrs.data(), c.K, c.N, o.W.data(), c.m, c.trans_w, c.log_q,
                 out_ptrs.data());
  return out;
}

void expect_equal(const std::vector<std::vector<uint64_t>>& got,
                  const std::vector<std::vector<uint64_t>>& want, const Case& c,
                  const std::string& what) {
  int misses = 0;
  for (int ci = 0; ci < c.count; ++ci)
    for (size_t i = 0; i < want[ci].size(); ++i)
      if (got[ci][i] != want[ci][i] && ++misses <= 3)
        ADD_FAILURE() << what << " " << describe(c) << ": out[" << ci << "][" << i / c.N << "]["
                      << i % c.N << "] = " << got[ci][i] << ", want " << want[ci][i];
  EXPECT_EQ(misses, 0) << what << " " << describe(c);
}

void check(const Case& c, uint32_t seed) {
  const Operands o = make_operands(c, seed);
  const auto want = naive_products(c, o);
  for (Int8Kernel kernel : kernels())
    expect_equal(run(kernel, c, o), want, c, int8_kernel_name(kernel));
}

TEST(Mod2kGemm, ExactAtManyShapesAndModuli) {
  // Shapes cover K, N and m tails of the kernels' blocks (groups of 64 coefficients, 256-wide N
  // blocks, K in groups of 4 and 16) without the full cross product.
  const int64_t shapes[][3] = {{1, 1, 1},       {2, 7, 5},     {3, 1024, 1},   {17, 7, 960},
                               {576, 1024, 64}, {4096, 7, 64}, {4096, 1, 960}, {576, 2048, 5},
                               {17, 2048, 960}, {3, 300, 64},  {64, 257, 5}};
  const int log_qs[] = {1, 8, 9, 30, 47, 54, 63, 64};
  uint32_t seed = 1;
  int i = 0;
  for (const auto& s : shapes)
    for (int log_q : log_qs) {
      // Rotate count and trans_w through the combinations instead of crossing them.
      Case c{s[0], s[1], s[2], log_q, 1 + (i % 2), (i / 2) % 2 == 0};
      ++i;
      if (c.K * c.N * c.m > 8'000'000 && log_q != 47 && log_q != 64) continue;
      check(c, ++seed);
    }
}

TEST(Mod2kGemm, ExactAtExtremeValues) {
  // Every coefficient 2^log_q - 1 or 0 against weights all -128, -127 or 127: the largest
  // magnitudes of the int32 partial sums and of the offset corrections.
  for (int log_q : {1, 9, 47, 63, 64})
    for (Fill fill : {Fill::kMax, Fill::kZero})
      for (int w : {-128, -127, 127})
        for (bool trans_w : {false, true}) check({576, 70, 33, log_q, 2, trans_w, fill, w}, 5);
}

TEST(Mod2kGemm, SplitsSumsBeyondTheInt32Limit) {
  // Past 65793 terms of magnitude 255·128 an int32 sum would overflow; K = 66312 is also past
  // kMaxExactK. Coefficients 0 against weights 127 hit the largest partial sums of the method.
  for (int64_t K : {65793, 66312})
    for (Fill fill : {Fill::kZero, Fill::kMax, Fill::kRandom})
      for (int w : {127, -128, 0})
        check({K, 3, 2, 64, 2, w != 0, fill, w}, static_cast<uint32_t>(K + w));
  check({131000, 2, 1, 47, 1, false, Fill::kRandom, 0}, 9);
  // Enough coefficients for several blocks, so the chunks run inside each thread's block.
  check({66312, 130, 1, 54, 2, true, Fill::kRandom, 0}, 10);
}

TEST(Mod2kGemm, IndependentOfThreadCount) {
  const Case c{576, 1024, 64, 54, 2, false};
  const Operands o = make_operands(c, 11);
  const auto want = naive_products(c, o);
  const int saved = num_threads();
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    for (Int8Kernel kernel : kernels())
      expect_equal(run(kernel, c, o), want, c,
                   int8_kernel_name(kernel) + " threads=" + std::to_string(threads));
  }
  set_num_threads(saved);
}

TEST(Mod2kGemm, ResidentWeightsServeManyCalls) {
  // One Mod2kWeights across calls with different N, log_q and count; inputs with bits above
  // log_q set give the same result as reduced ones.
  const int64_t K = 100, m = 70;
  for (Int8Kernel kernel : kernels())
    for (bool trans_w : {false, true}) {
      Case c{K, 1, m, 64, 2, trans_w};
      const Operands w_src = make_operands(c, 21);
      const Mod2kWeights weights(kernel, w_src.W.data(), K, m, trans_w);
      EXPECT_EQ(weights.K(), K);
      EXPECT_EQ(weights.m(), m);
      EXPECT_EQ(weights.kernel(), kernel);
      uint32_t seed = 30;
      for (int64_t N : {1, 65, 600})
        for (int log_q : {5, 40, 64})
          for (int count : {1, 2, 3}) {
            c.N = N;
            c.log_q = log_q;
            c.count = count;
            Operands o = make_operands(c, ++seed);
            o.W = w_src.W;
            const auto want = naive_products(c, o);
            std::mt19937_64 rng(seed);
            for (auto& x : o.in)
              for (auto& v : x) v |= rng() & ~low_bits(log_q);  // unreduced inputs
            std::vector<std::vector<uint64_t>> got(count, std::vector<uint64_t>(m * N, 1));
            std::vector<const uint64_t*> in_ptrs;
            std::vector<uint64_t*> out_ptrs;
            for (int ci = 0; ci < count; ++ci) {
              in_ptrs.push_back(o.in[ci].data());
              out_ptrs.push_back(got[ci].data());
            }
            weights.products(count, in_ptrs.data(), N, log_q, out_ptrs.data());
            expect_equal(got, want, c, "resident " + int8_kernel_name(kernel));
          }
    }
}

TEST(Mod2kGemm, RejectsBadArguments) {
  const std::vector<int8_t> W(6, 1);
  const std::vector<uint64_t> x(6, 1);
  std::vector<uint64_t> y(6);
  const uint64_t* in[1] = {x.data()};
  uint64_t* out[1] = {y.data()};
  const Int8Kernel k = Int8Kernel::kPortable;
  EXPECT_THROW(mod2k_products(k, 1, in, 2, 3, W.data(), 2, true, 0, out), Error);
  EXPECT_THROW(mod2k_products(k, 1, in, 2, 3, W.data(), 2, true, 65, out), Error);
  EXPECT_THROW(mod2k_products(k, 0, in, 2, 3, W.data(), 2, true, 30, out), Error);
  EXPECT_THROW(mod2k_products(k, 1, in, 0, 3, W.data(), 2, true, 30, out), Error);
  EXPECT_THROW(mod2k_products(k, 1, in, 2, 0, W.data(), 2, true, 30, out), Error);
  EXPECT_THROW(mod2k_products(k, 1, in, 2, 3, W.data(), -1, true, 30, out), Error);
  EXPECT_NO_THROW(mod2k_products(k, 1, in, 2, 3, W.data(), 2, true, 30, out));
  EXPECT_EQ(y, std::vector<uint64_t>(6, 2));
  if (!onednn_int8_exact()) {
    EXPECT_THROW(Mod2kWeights(Int8Kernel::kOneDnn, W.data(), 2, 3, true), Error);
  }
}

}  // namespace
}  // namespace cipherlora
