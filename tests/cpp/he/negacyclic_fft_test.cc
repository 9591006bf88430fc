#include "he/negacyclic_fft.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"

namespace cipherlora {
namespace {

std::vector<FftKernel> kernels() {
  std::vector<FftKernel> k = {FftKernel::kPortable};
  if (fft_avx512_available()) k.push_back(FftKernel::kAvx512);
  return k;
}

// Exact a·b mod (x^N + 1) of integer polynomials (|values| small enough for int64).
std::vector<int64_t> schoolbook(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  const size_t n = a.size();
  std::vector<int64_t> c(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const int64_t p = a[i] * b[j];
      if (i + j < n)
        c[i + j] += p;
      else
        c[i + j - n] -= p;
    }
  return c;
}

double norm2(const std::vector<int64_t>& v) {
  double s = 0;
  for (int64_t x : v) s += static_cast<double>(x) * static_cast<double>(x);
  return std::sqrt(s);
}

// The product through forward, pointwise multiply, inverse; returns the unrounded coefficients.
// The fold u_j = a_j + i·a_(j+n) is the identity on memory: re = a[0, n), im = a[n, 2n).
std::vector<double> fft_product(const NegacyclicFft& fft, const std::vector<int64_t>& a,
                                const std::vector<int64_t>& b) {
  const int64_t n = fft.size();
  std::vector<double> ad(a.begin(), a.end()), bd(b.begin(), b.end());
  fft.forward(ad.data(), ad.data() + n);
  fft.forward(bd.data(), bd.data() + n);
  fft_multiply(ad.data(), ad.data() + n, bd.data(), bd.data() + n, n, ad.data(), ad.data() + n);
  fft.inverse(ad.data(), ad.data() + n);
  return ad;
}

// The same through forward_from (integers converted as read) and inverse_of_product.
std::vector<double> fused_product(const NegacyclicFft& fft, const std::vector<int64_t>& a,
                                  const std::vector<int64_t>& b) {
  const int64_t N = fft.degree();
  const std::vector<int32_t> a32(a.begin(), a.end());
  const std::vector<int8_t> b8(b.begin(), b.end());
  std::vector<double> at(N), bt(N), c(N);
  fft.forward_from(std::span<const int32_t>(a32), at.data());
  fft.forward_from(std::span<const int8_t>(b8), bt.data());
  fft.inverse_of_product(at.data(), bt.data(), c.data());
  return c;
}

// Products of random integer polynomials (one a sparse ±1 secret-like, one with up to 24-bit
// coefficients, and structured extremes) round to the schoolbook result, and the worst error
// relative to ‖a‖₂‖b‖₂ stays far below kFftErrorBound.
TEST(NegacyclicFft, ProductsRoundToTheExactResultWellWithinTheBound) {
  std::mt19937_64 rng(3);
  for (int log_n : {10, 11, 12})
    for (FftKernel kernel : kernels()) {
      const NegacyclicFft fft(log_n, kernel);
      const int64_t N = fft.degree();
      ASSERT_EQ(fft.size(), N / 2);
      double worst = 0;
      for (int trial = 0; trial < 6; ++trial) {
        const int bits = trial < 2 ? 24 : trial < 4 ? 16 : 8;
        std::vector<int64_t> a(N), b(N);
        const int64_t top = int64_t{1} << (bits - 1);
        for (auto& x : a)
          x = trial % 2 ? (rng() % 2 ? top - 1 : -top)  // extremes
                        : static_cast<int64_t>(rng() % (2 * top)) - top;
        for (auto& x : b) x = static_cast<int64_t>(rng() % 3) - 1;
        if (trial == 5)
          for (auto& x : b) x = 1;  // every coefficient adds up: the largest magnitudes
        const std::vector<int64_t> want = schoolbook(a, b);
        const std::vector<double> got = fft_product(fft, a, b), fused = fused_product(fft, a, b);
        double err = 0;
        for (int64_t i = 0; i < N; ++i) {
          ASSERT_EQ(std::llround(got[i]), want[i]) << "N=" << N << " trial " << trial << " i=" << i;
          ASSERT_EQ(std::llround(fused[i]), want[i]) << "N=" << N << " fused, i=" << i;
          err = std::max(err, std::abs(got[i] - static_cast<double>(want[i])));
          err = std::max(err, std::abs(fused[i] - static_cast<double>(want[i])));
        }
        worst = std::max(worst, err / (norm2(a) * norm2(b)));
      }
      EXPECT_LT(worst, kFftErrorBound / 16) << "N=" << N;
      std::printf("N=%lld %s: worst error / (|a|·|b|) = 2^%.1f (bound 2^-44)\n",
                  static_cast<long long>(N), kernel == FftKernel::kPortable ? "portable" : "avx512",
                  std::log2(worst));
    }
}

// forward_from converts exactly, so every integer width gives the transform of the same values,
// bit for bit, on both kernels.
TEST(NegacyclicFft, ForwardFromAnyIntegerWidthIsTheSameTransform) {
  std::mt19937_64 rng(4);
  for (FftKernel kernel : kernels()) {
    const NegacyclicFft fft(11, kernel);
    const int64_t N = fft.degree();
    std::vector<int8_t> v8(N);
    std::vector<int16_t> v16(N);
    for (int64_t i = 0; i < N; ++i) {
      v16[i] = static_cast<int16_t>(static_cast<int64_t>(rng() % 65536) - 32768);
      v8[i] = static_cast<int8_t>(static_cast<int64_t>(rng() % 256) - 128);
    }
    v16[0] = -32768;
    v16[1] = 32767;
    for (const int bits : {8, 16}) {
      std::vector<double> want(N), got(N);
      if (bits == 8) {
        const std::vector<int32_t> wide(v8.begin(), v8.end());
        fft.forward_from(std::span<const int32_t>(wide), want.data());
        fft.forward_from(std::span<const int8_t>(v8), got.data());
      } else {
        const std::vector<int32_t> wide(v16.begin(), v16.end());
        fft.forward_from(std::span<const int32_t>(wide), want.data());
        fft.forward_from(std::span<const int16_t>(v16), got.data());
      }
      EXPECT_EQ(got, want) << "int" << bits;
    }
  }
}

TEST(NegacyclicFft, InverseUndoesForward) {
  for (FftKernel kernel : kernels()) {
    const NegacyclicFft fft(11, kernel);
    std::mt19937_64 rng(9);
    std::vector<double> a(2048);
    for (auto& x : a) x = static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000);
    std::vector<double> c = a;
    fft.forward(c.data(), c.data() + 1024);
    fft.inverse(c.data(), c.data() + 1024);
    for (int i = 0; i < 2048; ++i) EXPECT_NEAR(c[i], a[i], 1e-9) << i;
  }
}

TEST(NegacyclicFft, KernelsEvaluateAtTheSamePoints) {
  // The AVX-512 output is the portable one with each 64-value chunk transposed.
  if (!fft_avx512_available()) GTEST_SKIP() << "no AVX-512";
  const NegacyclicFft portable(11, FftKernel::kPortable), fast(11, FftKernel::kAvx512);
  std::mt19937_64 rng(2);
  std::vector<double> a(2048);
  for (auto& x : a) x = static_cast<double>(static_cast<int64_t>(rng() % 201) - 100);
  std::vector<double> p = a, f = a;
  portable.forward(p.data(), p.data() + 1024);
  fast.forward(f.data(), f.data() + 1024);
  const double *pr = p.data(), *pi = p.data() + 1024, *fr = f.data(), *fi = f.data() + 1024;
  for (int c = 0; c < 16; ++c)
    for (int r = 0; r < 8; ++r)
      for (int l = 0; l < 8; ++l) {
        EXPECT_NEAR(fr[64 * c + 8 * l + r], pr[64 * c + 8 * r + l], 1e-6);
        EXPECT_NEAR(fi[64 * c + 8 * l + r], pi[64 * c + 8 * r + l], 1e-6);
      }
}

TEST(NegacyclicFft, RejectsBadArguments) {
  EXPECT_THROW(NegacyclicFft(9), Error);
  EXPECT_THROW(NegacyclicFft(16), Error);
  if (!fft_avx512_available()) {
    EXPECT_THROW(NegacyclicFft(11, FftKernel::kAvx512), Error);
  }
}

}  // namespace
}  // namespace cipherlora
