#include "he/ring_product.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <iterator>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "he/ntt_kernels.h"

namespace cipherlora {
namespace {

// Residue buffers for one product ([primes][N]), kept for reuse by later calls on any thread so
// that the hot path does not allocate, and wiped with the object.
class ScratchPool {
 public:
  explicit ScratchPool(int64_t words) : words_(words) {}

  AlignedWords acquire() {
    const std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return AlignedWords(words_);
    AlignedWords words = std::move(free_.back());
    free_.pop_back();
    return words;
  }

  void release(AlignedWords words) noexcept {
    try {
      const std::lock_guard<std::mutex> lock(mutex_);
      free_.push_back(std::move(words));
    } catch (...) {  // out of memory: let the buffer go (it is wiped when freed)
    }
  }

 private:
  int64_t words_;
  std::mutex mutex_;
  std::vector<AlignedWords> free_;
};

class ScratchLease {
 public:
  explicit ScratchLease(ScratchPool& pool) : pool_(pool), words_(pool.acquire()) {}
  ~ScratchLease() { pool_.release(std::move(words_)); }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  uint64_t* data() { return words_.data(); }

 private:
  ScratchPool& pool_;
  AlignedWords words_;
};

}  // namespace

struct TernaryRingMultiplier::State {
  int log_n = 0;
  int64_t n = 0;
  int max_log_q = 0;
  NttKernel kernel = NttKernel::kPortable;
  std::vector<Ntt> ntts;            // one per prime used at max_log_q
  std::vector<AlignedWords> s_ntt;  // [primes][multiplicand_words] NTT(s)/N, kernel layout
  CrtLift lift1, lift2;             // one prime, two primes
  int primes_for[65] = {};          // by log_q
  mutable ScratchPool pool;

  explicit State(int64_t scratch_words) : pool(scratch_words) {}

  void product(const uint64_t* a, int log_q, uint64_t* out, uint64_t* scratch) const {
    const int last = primes_for[log_q] - 1;
    if (last == 1) product_residues(ntts[0].tables(), a, log_q, s_ntt[0].data(), scratch);
    product_lifted(ntts[last].tables(), a, log_q, s_ntt[last].data(), last == 0 ? lift1 : lift2,
                   scratch, scratch + last * n, out);
  }
};

TernaryRingMultiplier::TernaryRingMultiplier(std::span<const int8_t> s, int max_log_q,
                                             NttKernel kernel) {
  const int64_t n = static_cast<int64_t>(s.size());
  require(n >= 1024 && n <= 32768 && (n & (n - 1)) == 0,
          "ternary ring product: degree N = " + std::to_string(n) +
              " is not a power of two in 2^10..2^15");
  require(max_log_q >= 1 && max_log_q <= 64,
          "ternary ring product: max_log_q must be in 1..64, got " + std::to_string(max_log_q));
  bool ternary = true;
  for (int8_t v : s) ternary &= v >= -1 && v <= 1;  // no early exit: same time for any secret
  require(ternary, "ternary ring product: the secret has a coefficient outside {-1, 0, 1}");
  kernel = resolve_ntt_kernel(kernel);
  require(kernel != NttKernel::kIfma || ntt_ifma_available(),
          "ternary ring product: the IFMA kernel needs AVX-512 IFMA, which this CPU lacks");
  int log_n = 0;
  while ((int64_t{1} << log_n) < n) ++log_n;

  // The product of the primes must exceed 2·N·2^(log_q-1) = N·2^log_q (at most 2^79).
  const std::vector<uint64_t> p = find_ntt_primes(ntt_max_prime_bits(kernel), log_n, 2);
  int primes_for[65] = {};
  for (int log_q = 1; log_q <= 64; ++log_q) {
    const unsigned __int128 bound = static_cast<unsigned __int128>(n) << log_q;
    assert(static_cast<unsigned __int128>(p[0]) * p[1] > bound);
    primes_for[log_q] = p[0] > bound ? 1 : 2;
  }
  const int primes = primes_for[max_log_q];

  state_ = std::make_unique<State>(primes * n);
  State& st = *state_;
  st.log_n = log_n;
  st.n = n;
  st.max_log_q = max_log_q;
  st.kernel = kernel;
  std::copy(std::begin(primes_for), std::end(primes_for), st.primes_for);
  for (int j = 0; j < primes; ++j) {
    const Ntt& ntt = st.ntts.emplace_back(p[j], log_n, kernel);
    AlignedWords s_mod_p(n);
    for (int64_t i = 0; i < n; ++i) {  // -1 -> p - 1 without a branch on the secret
      const uint64_t v = static_cast<uint64_t>(static_cast<int64_t>(s[i]));
      s_mod_p[i] = v + (p[j] & (0 - (v >> 63)));
    }
    ntt.forward(s_mod_p.data());
    st.s_ntt.emplace_back(multiplicand_words(ntt.tables()));
    prepare_multiplicand(ntt.tables(), s_mod_p.data(), st.s_ntt[j].data());
  }
  st.lift1 = make_crt_lift(kernel, p[0], 0);
  if (primes == 2) st.lift2 = make_crt_lift(kernel, p[0], p[1]);
}

TernaryRingMultiplier::~TernaryRingMultiplier() = default;
TernaryRingMultiplier::TernaryRingMultiplier(TernaryRingMultiplier&&) noexcept = default;
TernaryRingMultiplier& TernaryRingMultiplier::operator=(TernaryRingMultiplier&&) noexcept = default;

int64_t TernaryRingMultiplier::degree() const {
  return state_->n;
}
int TernaryRingMultiplier::max_log_q() const {
  return state_->max_log_q;
}
NttKernel TernaryRingMultiplier::kernel() const {
  return state_->kernel;
}

int TernaryRingMultiplier::prime_count(int log_q) const {
  if (log_q < 1 || log_q > state_->max_log_q)  // not require(): no message built on the hot path
    throw Error("ternary ring product: log_q must be in 1.." + std::to_string(state_->max_log_q) +
                ", got " + std::to_string(log_q));
  return state_->primes_for[log_q];
}

void TernaryRingMultiplier::multiply(const uint64_t* a, int log_q, uint64_t* out) const {
  prime_count(log_q);  // validates log_q
  ScratchLease scratch(state_->pool);
  state_->product(a, log_q, out, scratch.data());
}

void TernaryRingMultiplier::multiply_many(const uint64_t* a, int64_t count, int log_q,
                                          uint64_t* out) const {
  prime_count(log_q);
  if (count < 0) throw Error("ternary ring product: negative count " + std::to_string(count));
  const State& st = *state_;
  // Dynamic: a thread that loses its core to another process does not hold up the others.
#pragma omp parallel if (count > 1)
  {
    ScratchLease scratch(st.pool);
#pragma omp for schedule(dynamic)
    for (int64_t i = 0; i < count; ++i)
      st.product(a + i * st.n, log_q, out + i * st.n, scratch.data());
  }
}

}  // namespace cipherlora

namespace cipherlora {

struct RingMultiplier::State {
  int64_t n = 0;
  int log_q = 0;
  std::vector<Ntt> ntts;            // one per prime
  std::vector<AlignedWords> f_ntt;  // [primes][multiplicand_words] NTT(f)/N, kernel layout
  CrtLift lift;
  mutable ScratchPool pool;
  explicit State(int64_t scratch_words) : pool(scratch_words) {}
};

RingMultiplier::RingMultiplier(std::span<const uint64_t> fixed, int log_q, int operand_bits,
                               NttKernel kernel) {
  const int64_t n = static_cast<int64_t>(fixed.size());
  require(n >= 1024 && n <= 32768 && (n & (n - 1)) == 0,
          "ring product: degree N = " + std::to_string(n) + " is not a power of two in 2^10..2^15");
  require(log_q >= 2 && log_q <= 64 && operand_bits >= 0 && operand_bits < log_q,
          "ring product: log_q " + std::to_string(log_q) + " / operand bits " +
              std::to_string(operand_bits) + " out of range");
  kernel = resolve_ntt_kernel(kernel);
  int log_n = 0;
  while ((int64_t{1} << log_n) < n) ++log_n;
  // |f·v| <= N·2^(log_q−1)·2^operand_bits; the centered lift needs P > twice that.
  const int bound_bits = log_n + log_q + operand_bits;
  const std::vector<uint64_t> p = find_ntt_primes(ntt_max_prime_bits(kernel), log_n, 2);
  int primes = 0;
  if (bound_bits < 64 && p[0] > (uint64_t{1} << bound_bits))
    primes = 1;
  else if (static_cast<long double>(p[0]) * static_cast<long double>(p[1]) >
           std::ldexp(1.0L, bound_bits))
    primes = 2;
  require(primes > 0, "ring product: products of " + std::to_string(bound_bits) +
                          " bits need more than two NTT primes");
  state_ = std::make_unique<State>(primes * n);
  State& st = *state_;
  st.n = n;
  st.log_q = log_q;
  const int shift = 64 - log_q;
  for (int j = 0; j < primes; ++j) {
    const Ntt& ntt = st.ntts.emplace_back(p[j], log_n, kernel);
    AlignedWords f_mod_p(n);
    for (int64_t i = 0; i < n; ++i) {  // centered: the top bit of log_q is the sign
      const int64_t v = static_cast<int64_t>(fixed[i] << shift) >> shift;
      const int64_t r = v % static_cast<int64_t>(p[j]);
      f_mod_p[i] = static_cast<uint64_t>(r < 0 ? r + static_cast<int64_t>(p[j]) : r);
    }
    ntt.forward(f_mod_p.data());
    st.f_ntt.emplace_back(multiplicand_words(ntt.tables()));
    prepare_multiplicand(ntt.tables(), f_mod_p.data(), st.f_ntt[j].data());
  }
  st.lift = make_crt_lift(kernel, p[0], primes == 2 ? p[1] : 0);
}

RingMultiplier::~RingMultiplier() = default;
RingMultiplier::RingMultiplier(RingMultiplier&&) noexcept = default;
RingMultiplier& RingMultiplier::operator=(RingMultiplier&&) noexcept = default;

int64_t RingMultiplier::degree() const {
  return state_->n;
}
int RingMultiplier::log_q() const {
  return state_->log_q;
}
int RingMultiplier::prime_count() const {
  return static_cast<int>(state_->ntts.size());
}

void RingMultiplier::multiply(const uint64_t* v, uint64_t* out) const {
  const State& st = *state_;
  ScratchLease scratch(st.pool);
  const int last = prime_count() - 1;
  if (last == 1)
    product_residues(st.ntts[0].tables(), v, st.log_q, st.f_ntt[0].data(), scratch.data());
  product_lifted(st.ntts[last].tables(), v, st.log_q, st.f_ntt[last].data(), st.lift,
                 scratch.data(), scratch.data() + last * st.n, out);
}

}  // namespace cipherlora
