#include "he/ntt.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "common/error.h"

namespace cipherlora {
namespace {

std::vector<NttKernel> kernels() {
  std::vector<NttKernel> k = {NttKernel::kPortable};
  if (ntt_ifma_available()) k.push_back(NttKernel::kIfma);
  return k;
}

uint64_t mulmod(uint64_t a, uint64_t b, uint64_t p) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(a) * b % p);
}

uint64_t powmod(uint64_t b, uint64_t e, uint64_t p) {
  uint64_t r = 1;
  for (; e; e >>= 1, b = mulmod(b, b, p))
    if (e & 1) r = mulmod(r, b, p);
  return r;
}

bool prime_by_trial_division(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d)
    if (n % d == 0) return false;
  return true;
}

// Fermat's test, independent of the library's Miller–Rabin: a prime always passes.
bool fermat_probable_prime(uint64_t n) {
  for (uint64_t b : {2, 3, 5, 7})
    if (powmod(b, n - 1, n) != 1) return false;
  return true;
}

std::vector<uint64_t> random_residues(int64_t n, uint64_t p, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = rng() % p;
  return v;
}

// c = a·b mod (x^n + 1, p), O(n^2).
std::vector<uint64_t> schoolbook_mod_p(const std::vector<uint64_t>& a,
                                       const std::vector<uint64_t>& b, uint64_t p) {
  const size_t n = a.size();
  std::vector<uint64_t> c(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const uint64_t t = mulmod(a[i], b[j], p);
      const size_t k = i + j;
      if (k < n)
        c[k] = (c[k] + t) % p;
      else
        c[k - n] = (c[k - n] + p - t) % p;
    }
  return c;
}

TEST(NttPrimes, MillerRabinAgreesWithTrialDivisionBelow200000) {
  for (uint64_t n = 0; n < 200000; ++n)
    ASSERT_EQ(is_ntt_prime(n, 0), n % 2 == 1 && prime_by_trial_division(n)) << n;
}

TEST(NttPrimes, KnownPrimesAndStrongPseudoprimes) {
  EXPECT_TRUE(is_ntt_prime(12289, 10));  // 12289 = 3·2^12 + 1
  EXPECT_TRUE(is_ntt_prime(12289, 11));
  EXPECT_FALSE(is_ntt_prime(12289, 12));  // not 1 mod 2^13
  EXPECT_TRUE(is_ntt_prime((uint64_t{1} << 61) - 1, 0));
  EXPECT_TRUE(is_ntt_prime(~uint64_t{0} - 58, 0));  // 2^64 - 59, the largest 64-bit prime
  // Strong pseudoprimes to every prime base up to 23 (and a Carmichael number).
  EXPECT_FALSE(is_ntt_prime(3825123056546413051ull, 0));
  EXPECT_FALSE(is_ntt_prime(561, 0));
  EXPECT_FALSE(is_ntt_prime(3215031751ull, 0));
  EXPECT_FALSE(is_ntt_prime(12289, -1));
}

TEST(NttPrimes, LargestBelowTheBoundExhaustively) {
  // All primes 1 mod 2^11 below 2^20, by trial division, largest first.
  std::vector<uint64_t> want;
  for (uint64_t p = (uint64_t{1} << 20) - 2047; p > 2048; p -= 2048)
    if (prime_by_trial_division(p)) want.push_back(p);
  ASSERT_GT(want.size(), 10u);
  EXPECT_EQ(find_ntt_primes(20, 10, static_cast<int>(want.size())), want);
  EXPECT_EQ(find_ntt_primes(20, 10, 3), std::vector<uint64_t>(want.begin(), want.begin() + 3));
  EXPECT_THROW(find_ntt_primes(20, 10, static_cast<int>(want.size()) + 1), Error);
  EXPECT_TRUE(find_ntt_primes(20, 10, 0).empty());
  EXPECT_THROW(find_ntt_primes(65, 10, 1), Error);
  EXPECT_THROW(find_ntt_primes(20, 19, 1), Error);
}

TEST(NttPrimes, LargeOnesAreTheLargestNttPrimes) {
  for (int bits : {50, 62, 64})
    for (int log_n : {10, 11, 15}) {
      const std::vector<uint64_t> primes = find_ntt_primes(bits, log_n, 3);
      const uint64_t step = uint64_t{2} << log_n;
      // Every candidate 1 mod 2N from 2^bits down to the last prime is prime iff it was found.
      uint64_t candidate = (bits == 64 ? 0 : uint64_t{1} << bits) - step + 1;
      size_t found = 0;
      for (; found < primes.size(); candidate -= step) {
        if (candidate == primes[found]) {
          EXPECT_TRUE(fermat_probable_prime(candidate)) << candidate;
          EXPECT_EQ(candidate % step, 1u);
          ++found;
        } else {
          EXPECT_FALSE(fermat_probable_prime(candidate)) << candidate << " was skipped";
        }
      }
      if (bits < 64) {
        EXPECT_LT(primes[0], uint64_t{1} << bits);
      }
    }
}

TEST(Ntt, BestKernelIsIfmaWhereTheCpuHasIt) {
  if (__builtin_cpu_supports("avx512ifma")) {
    EXPECT_TRUE(ntt_ifma_available());
  }
  EXPECT_EQ(resolve_ntt_kernel(NttKernel::kBest),
            ntt_ifma_available() ? NttKernel::kIfma : NttKernel::kPortable);
  const uint64_t p = find_ntt_primes(50, 11, 1)[0];
  EXPECT_EQ(Ntt(p, 11).kernel(), resolve_ntt_kernel(NttKernel::kBest));
  // Too large for IFMA: the best kernel falls back to the portable one.
  EXPECT_EQ(Ntt(find_ntt_primes(62, 11, 1)[0], 11).kernel(), NttKernel::kPortable);
  for (NttKernel k : {NttKernel::kPortable, NttKernel::kIfma, NttKernel::kBest})
    EXPECT_FALSE(ntt_kernel_name(k).empty());
}

TEST(Ntt, RejectsBadArguments) {
  const uint64_t p = find_ntt_primes(50, 11, 1)[0];
  EXPECT_THROW(Ntt(p, 9), Error);
  EXPECT_THROW(Ntt(p, 16), Error);
  EXPECT_THROW(Ntt(p + 4096, 11), Error);  // not prime
  for (uint64_t q : find_ntt_primes(50, 10, 8))
    if (q % 4096 != 1) {
      EXPECT_THROW(Ntt(q, 11), Error);  // 1 mod 2^11 but not mod 2^12
      break;
    }
  EXPECT_THROW(Ntt(find_ntt_primes(64, 11, 1)[0], 11), Error);  // above 2^62
  if (ntt_ifma_available()) {
    EXPECT_THROW(Ntt(find_ntt_primes(62, 11, 1)[0], 11, NttKernel::kIfma), Error);
  } else {
    EXPECT_THROW(Ntt(p, 11, NttKernel::kIfma), Error);
  }
}

TEST(Ntt, ForwardEvaluatesAtOddPowersOfPsiInBitReversedOrder) {
  for (NttKernel kernel : kernels()) {
    const Ntt ntt(find_ntt_primes(50, 10, 1)[0], 10, kernel);
    const int64_t n = ntt.size();
    const uint64_t p = ntt.modulus();
    std::vector<uint64_t> x(n, 0);
    x[1] = 1;
    ntt.forward(x.data());  // x[i] = the i-th evaluation point
    std::vector<uint64_t> sorted = x;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end()) << "points not distinct";
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(powmod(x[i], n, p), p - 1);  // roots of x^N + 1
    // Bit-reversed order: entries 2i and 2i+1 are ψ^(2j+1) and ψ^(2j+1+N) = -ψ^(2j+1).
    for (int64_t i = 0; i < n; i += 2) EXPECT_EQ(x[i + 1], p - x[i]);
    // A random polynomial evaluates there.
    std::vector<uint64_t> a = random_residues(n, p, 5), fa = a;
    ntt.forward(fa.data());
    for (int64_t i : {0, 1, 77, 1023}) {
      uint64_t value = 0;
      for (int64_t j = n - 1; j >= 0; --j) value = (mulmod(value, x[i], p) + a[j]) % p;
      EXPECT_EQ(fa[i], value) << ntt_kernel_name(kernel) << " i=" << i;
    }
  }
}

TEST(Ntt, RoundTripAndKernelsAgree) {
  for (int log_n = 10; log_n <= 15; ++log_n) {
    const int64_t n = int64_t{1} << log_n;
    for (uint64_t p : {find_ntt_primes(50, log_n, 2)[1], find_ntt_primes(36, log_n, 1)[0]}) {
      std::vector<uint64_t> a = random_residues(n, p, log_n);
      a[0] = p - 1;  // the extremes of the input range
      a[n - 1] = 0;
      std::vector<std::vector<uint64_t>> forwards;
      for (NttKernel kernel : kernels()) {
        const Ntt ntt(p, log_n, kernel);
        std::vector<uint64_t> b = a;
        ntt.forward(b.data());
        EXPECT_TRUE(std::all_of(b.begin(), b.end(), [&](uint64_t v) { return v < p; }));
        forwards.push_back(b);
        ntt.inverse(b.data());
        EXPECT_EQ(b, a) << ntt_kernel_name(kernel) << " N=" << n << " p=" << p;
      }
      for (const auto& f : forwards) EXPECT_EQ(f, forwards[0]) << "kernels differ, N=" << n;
    }
  }
}

TEST(Ntt, LargePrimesOnThePortableKernel) {
  const uint64_t p = find_ntt_primes(62, 11, 1)[0];
  const Ntt ntt(p, 11, NttKernel::kPortable);
  std::vector<uint64_t> a = random_residues(2048, p, 9), b = a;
  ntt.forward(b.data());
  ntt.inverse(b.data());
  EXPECT_EQ(b, a);
}

TEST(Ntt, PointwiseProductIsTheNegacyclicProduct) {
  for (int log_n : {10, 11})
    for (NttKernel kernel : kernels())
      for (int bits : {50, 62}) {
        if (bits > ntt_max_prime_bits(kernel)) continue;
        const uint64_t p = find_ntt_primes(bits, log_n, 1)[0];
        const Ntt ntt(p, log_n, kernel);
        const int64_t n = ntt.size();
        std::vector<uint64_t> a = random_residues(n, p, 1), b = random_residues(n, p, 2);
        std::fill(b.begin(), b.begin() + 5, p - 1);
        const std::vector<uint64_t> want = schoolbook_mod_p(a, b, p);
        ntt.forward(a.data());
        ntt.forward(b.data());
        std::vector<uint64_t> c(n);
        ntt.multiply(a.data(), b.data(), c.data());
        ntt.inverse(c.data());
        EXPECT_EQ(c, want) << ntt_kernel_name(kernel) << " N=" << n << " p=" << p;
      }
}

}  // namespace
}  // namespace cipherlora
