#include "he/ring_product.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "he/ntt_kernels.h"
#include "tensor/threads.h"

namespace cipherlora {
namespace {

std::vector<NttKernel> kernels() {
  std::vector<NttKernel> k = {NttKernel::kPortable};
  if (ntt_ifma_available()) k.push_back(NttKernel::kIfma);
  return k;
}

uint64_t mask_of(int log_q) {
  return log_q == 64 ? ~uint64_t{0} : (uint64_t{1} << log_q) - 1;
}

// The independent reference: schoolbook a·s mod (x^N + 1, 2^log_q) in wrapping uint64 arithmetic.
std::vector<uint64_t> schoolbook(const std::vector<uint64_t>& a, const std::vector<int8_t>& s,
                                 int log_q) {
  const size_t n = a.size();
  std::vector<uint64_t> c(n, 0);
  for (size_t j = 0; j < n; ++j) {
    if (s[j] == 0) continue;
    const uint64_t sign = s[j] > 0 ? 1 : ~uint64_t{0};  // ±1 mod 2^64
    for (size_t i = 0; i < n - j; ++i) c[i + j] += sign * a[i];
    for (size_t i = n - j; i < n; ++i) c[i + j - n] -= sign * a[i];  // x^N = -1
  }
  for (auto& v : c) v &= mask_of(log_q);
  return c;
}

std::vector<int8_t> make_secret(int64_t n, const std::string& kind, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> s(n);
  for (auto& v : s)
    v = kind == "+1" ? 1 : kind == "-1" ? -1 : static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
  return s;
}

// kind: random, or a constant: 0, -1 (2^k - 1), min (2^(k-1), centered -2^(k-1)), max (2^(k-1) -
// 1).
std::vector<uint64_t> make_input(int64_t n, int log_q, const std::string& kind, uint32_t seed) {
  const uint64_t mask = mask_of(log_q), half = uint64_t{1} << (log_q - 1);
  uint64_t value = kind == "0" ? 0 : kind == "-1" ? mask : kind == "min" ? half : half - 1;
  std::vector<uint64_t> a(n, value);
  if (kind == "random") {
    std::mt19937_64 rng(seed);
    for (auto& v : a) v = rng() & mask;
  }
  return a;
}

// The general reference: schoolbook a·v mod (x^N + 1, 2^log_q) for signed operands v.
std::vector<uint64_t> schoolbook_signed(const std::vector<uint64_t>& a,
                                        const std::vector<int32_t>& v, int log_q) {
  const size_t n = a.size();
  std::vector<uint64_t> c(n, 0);
  for (size_t j = 0; j < n; ++j) {
    const uint64_t w = static_cast<uint64_t>(int64_t{v[j]});
    for (size_t i = 0; i < n - j; ++i) c[i + j] += w * a[i];
    for (size_t i = n - j; i < n; ++i) c[i + j - n] -= w * a[i];
  }
  for (auto& x : c) x &= mask_of(log_q);
  return c;
}

void expect_equal(const std::vector<uint64_t>& got, const std::vector<uint64_t>& want,
                  const std::string& what) {
  int misses = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (got[i] != want[i] && ++misses <= 3)
      ADD_FAILURE() << what << " out[" << i << "] = " << got[i] << ", want " << want[i];
  EXPECT_EQ(misses, 0) << what;
}

void expect_product(const RingMultiplier& mul, const std::vector<uint64_t>& a,
                    const std::vector<uint64_t>& want, const std::string& what) {
  std::vector<uint64_t> got(a.size(), 0x5a5a5a5a);
  mul.multiply(a.data(), got.data());
  expect_equal(got, want, what + " log_q=" + std::to_string(mul.log_q()));
}

// log_q values of the brief plus each kernel's one-prime limit and the value after it.
std::vector<int> log_qs_for(const std::vector<int8_t>& s, NttKernel kernel) {
  std::vector<int> k = {1, 20, 38, 39, 46, 47, 54, 63, 64};
  for (int log_q = 1; log_q < 64; ++log_q)
    if (RingMultiplier(s, log_q, kernel).prime_count() == 1 &&
        RingMultiplier(s, log_q + 1, kernel).prime_count() == 2) {
      k.push_back(log_q);
      k.push_back(log_q + 1);
    }
  return k;
}

// a = min with s = -1 and a = max with s = +1 put coefficient N-1 at ±N·2^(k-1) (up to N), the
// largest magnitudes the primes must resolve; the log_q list includes each one-prime limit.
TEST(RingMultiplier, TernaryExactAgainstSchoolbook) {
  for (int64_t n : {1024, 2048, 4096})
    for (const char* s_kind : {"random", "+1", "-1"}) {
      const std::vector<int8_t> s = make_secret(n, s_kind, static_cast<uint32_t>(n));
      for (NttKernel kernel : kernels())
        for (int log_q : log_qs_for(s, kernel)) {
          const RingMultiplier mul(s, log_q, kernel);
          for (const char* a_kind : {"random", "0", "-1", "min", "max"}) {
            // Constant inputs at N = 4096 only where they matter most.
            if (n == 4096 && std::string(a_kind) != "random" && log_q != 64 && log_q != 39)
              continue;
            const std::vector<uint64_t> a = make_input(n, log_q, a_kind, log_q);
            expect_product(mul, a, schoolbook(a, s, log_q),
                           ntt_kernel_name(kernel) + " N=" + std::to_string(n) + " s=" + s_kind +
                               " a=" + a_kind);
          }
        }
    }
}

TEST(RingMultiplier, LargeDegreesWithASparseSecret) {
  // A sparse secret keeps the schoolbook reference cheap; the transforms are the same.
  for (int64_t n : {8192, 16384, 32768}) {
    std::vector<int8_t> s(n, 0);
    std::mt19937 rng(static_cast<uint32_t>(n));
    for (int k = 0; k < 40; ++k) s[rng() % n] = rng() % 2 ? 1 : -1;
    s[0] = 1;
    s[n - 1] = -1;
    for (NttKernel kernel : kernels())
      for (int log_q : {30, 47, 64}) {
        const std::vector<uint64_t> a = make_input(n, log_q, "random", log_q);
        expect_product(RingMultiplier(s, log_q, kernel), a, schoolbook(a, s, log_q),
                       ntt_kernel_name(kernel) + " N=" + std::to_string(n));
      }
  }
}

// A mask-like fixed multiplicand (log_q-bit, centered) times small signed operands at their
// bound, directly and from the operands' transformed forms; the product commutes, so the
// reference is the same schoolbook.
TEST(RingMultiplier, MaskTimesBoundedOperandsDirectAndTransformed) {
  std::mt19937_64 rng(5);
  for (int64_t n : {1024, 2048})
    for (NttKernel kernel : kernels())
      for (int log_q : {20, 38, 47, 64})
        for (int operand_bits : {0, 8, 19}) {
          if (operand_bits >= log_q) continue;
          for (const char* a_kind : {"random", "min", "max"}) {
            const std::vector<uint64_t> a = make_input(n, log_q, a_kind, log_q);
            const RingMultiplier mul(a, log_q, operand_bits, kernel);
            const int32_t bound = int32_t{1} << operand_bits;
            std::vector<int32_t> v(n);
            for (auto& x : v)  // mostly at ±bound, the extremes, and some in between
              x = rng() % 4 == 0 ? static_cast<int32_t>(rng() % (2 * bound + 1)) - bound
                  : rng() % 2    ? bound
                                 : -bound;
            if (operand_bits == 0)
              for (auto& x : v) x = std::clamp(x, -1, 1);
            const std::vector<uint64_t> want = schoolbook_signed(a, v, log_q);
            const std::string what = ntt_kernel_name(kernel) + " N=" + std::to_string(n) +
                                     " log_q=" + std::to_string(log_q) +
                                     " operand_bits=" + std::to_string(operand_bits) +
                                     " a=" + a_kind;
            std::vector<uint64_t> vq(n), got(n);
            for (int64_t i = 0; i < n; ++i)
              vq[i] = static_cast<uint64_t>(int64_t{v[i]}) & mask_of(log_q);
            mul.multiply(vq.data(), got.data());
            expect_equal(got, want, what + " direct");
            std::vector<uint64_t> tr(RingMultiplier::transformed_words(n));
            RingMultiplier::transform_operand(std::span<const int32_t>(v), kernel, tr.data());
            std::fill(got.begin(), got.end(), 0);
            mul.multiply_transformed(tr.data(), got.data());
            expect_equal(got, want, what + " transformed");
            if (operand_bits == 0) {
              const std::vector<int8_t> v8(v.begin(), v.end());
              RingMultiplier::transform_operand(std::span<const int8_t>(v8), kernel, tr.data());
              mul.multiply_transformed(tr.data(), got.data());
              expect_equal(got, want, what + " transformed int8");
            }
          }
        }
}

TEST(RingMultiplier, UsesTheFewestPrimes) {
  const std::vector<int8_t> s = make_secret(2048, "random", 1);
  for (NttKernel kernel : kernels()) {
    // Primes lie in (2^(b-1), 2^b): one suffices while N·2^log_q < 2^(b-1).
    const int one_prime_limit = ntt_max_prime_bits(kernel) - 1 - 11;
    for (int log_q = 1; log_q <= 64; ++log_q)
      EXPECT_EQ(RingMultiplier(s, log_q, kernel).prime_count(), log_q <= one_prime_limit ? 1 : 2)
          << log_q;
  }
  if (ntt_ifma_available()) {
    EXPECT_EQ(RingMultiplier(s, 38, NttKernel::kIfma).prime_count(), 1);
    EXPECT_EQ(RingMultiplier(s, 39, NttKernel::kIfma).prime_count(), 2);
    // A 47-bit mask by ternary operands: 2N·2^46 = 2^58 > 2^50, two primes.
    const std::vector<uint64_t> a(2048, 5);
    EXPECT_EQ(RingMultiplier(a, 47, 0, NttKernel::kIfma).prime_count(), 2);
    EXPECT_EQ(RingMultiplier(a, 30, 0, NttKernel::kIfma).prime_count(), 1);
  }
}

TEST(RingMultiplier, SameResultsFromTwoThreads) {
  const int64_t n = 2048, count = 6;
  const std::vector<int8_t> s = make_secret(n, "random", 7);
  const int saved = num_threads();
  set_num_threads(2);
  for (NttKernel kernel : kernels()) {
    const RingMultiplier mul(s, 47, kernel);
    std::vector<uint64_t> a, want;
    for (int64_t c = 0; c < count; ++c) {
      const std::vector<uint64_t> one = make_input(n, 47, "random", 100 + c);
      const std::vector<uint64_t> ref = schoolbook(one, s, 47);
      a.insert(a.end(), one.begin(), one.end());
      want.insert(want.end(), ref.begin(), ref.end());
    }
    std::vector<uint64_t> out(count * n);
#pragma omp parallel for schedule(dynamic)
    for (int64_t c = 0; c < count; ++c) mul.multiply(a.data() + c * n, out.data() + c * n);
    EXPECT_EQ(out, want) << ntt_kernel_name(kernel);
    mul.multiply(a.data(), a.data());  // out may be the input
    EXPECT_TRUE(std::equal(a.begin(), a.begin() + n, want.begin()));
  }
  set_num_threads(saved);
}

TEST(RingMultiplier, IgnoresBitsAboveLogQ) {
  const int64_t n = 1024;
  const std::vector<int8_t> s = make_secret(n, "random", 3);
  for (NttKernel kernel : kernels())
    for (int log_q : {20, 40, 57}) {  // with 50-bit primes: narrow and wide input conversions
      const std::vector<uint64_t> a = make_input(n, log_q, "random", 3);
      std::vector<uint64_t> dirty = a;
      for (auto& v : dirty) v |= ~mask_of(log_q) & 0xabcdef0123456789;
      expect_product(RingMultiplier(s, log_q, kernel), dirty, schoolbook(a, s, log_q),
                     ntt_kernel_name(kernel) + " dirty");
    }
}

TEST(RingMultiplier, RejectsBadArguments) {
  EXPECT_THROW(RingMultiplier(make_secret(1000, "random", 0), 32), Error);
  EXPECT_THROW(RingMultiplier(make_secret(512, "random", 0), 32), Error);
  EXPECT_THROW(RingMultiplier(make_secret(65536, "random", 0), 32), Error);
  std::vector<int8_t> s = make_secret(1024, "random", 0);
  EXPECT_THROW(RingMultiplier(s, 0), Error);
  EXPECT_THROW(RingMultiplier(s, 65), Error);
  s[17] = 2;
  EXPECT_THROW(RingMultiplier(s, 32), Error);
  s[17] = -2;
  EXPECT_THROW(RingMultiplier(s, 32), Error);
  s[17] = 0;
  EXPECT_EQ(RingMultiplier(s, 32).degree(), 1024);
  const std::vector<uint64_t> a(1024, 1);
  EXPECT_THROW(RingMultiplier(a, 1, 0), Error);    // log_q below 2
  EXPECT_THROW(RingMultiplier(a, 47, 47), Error);  // operand bits >= log_q
  EXPECT_THROW(RingMultiplier(a, 64, 60), Error);  // 2^135: more than two primes
  std::vector<uint64_t> tr(RingMultiplier::transformed_words(1000));
  EXPECT_THROW(
      RingMultiplier::transform_operand(std::span<const int8_t>(make_secret(1000, "random", 0)),
                                        NttKernel::kBest, tr.data()),
      Error);
  if (!ntt_ifma_available()) {
    EXPECT_THROW(RingMultiplier(s, 32, NttKernel::kIfma), Error);
  }
}

// The CRT lift directly, at the edges of the centered range where Garner's v equals (p2-1)/2.
TEST(RingMultiplier, CrtLiftAtTheEdgesOfTheCenteredRange) {
  for (NttKernel kernel : kernels()) {
    const std::vector<uint64_t> p = find_ntt_primes(ntt_max_prime_bits(kernel), 10, 2);
    const CrtLift lift = make_crt_lift(kernel, p[0], p[1]);
    using i128 = __int128;
    const i128 big = static_cast<i128>(p[0]) * p[1], half = (big - 1) / 2;
    const i128 edge = static_cast<i128>(p[0]) * (p[1] / 2);  // v = (p2-1)/2, r1 = 0
    std::vector<i128> values = {0,        1,         -1,       half,     -half,
                                half - 1, -half + 1, edge,     edge + 1, edge + p[0] / 2,
                                edge - 1, -edge,     -edge - 1};
    std::mt19937_64 rng(1);
    while (values.size() % 8 != 0 || values.size() < 64)
      values.push_back((static_cast<i128>(rng()) << 60 ^ rng()) % half * (rng() % 2 ? 1 : -1));
    const int64_t n = static_cast<int64_t>(values.size());
    std::vector<uint64_t> r1(n), r2(n), out(n);
    for (int64_t i = 0; i < n; ++i) {
      r1[i] = static_cast<uint64_t>((values[i] % p[0] + p[0]) % p[0]);
      r2[i] = static_cast<uint64_t>((values[i] % p[1] + p[1]) % p[1]);
    }
    for (int log_q : {1, 37, 64}) {
      lift_centered(kernel, lift, r1.data(), r2.data(), n, log_q, out.data());
      for (int64_t i = 0; i < n; ++i)
        EXPECT_EQ(out[i], static_cast<uint64_t>(values[i]) & mask_of(log_q))
            << ntt_kernel_name(kernel) << " value #" << i;
    }
  }
}

}  // namespace
}  // namespace cipherlora
