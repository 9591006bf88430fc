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
#include "he/scratch_pool.h"

namespace cipherlora {
namespace {

// The primes for degree n = 2^log_n and the kernel, largest first: every product and every
// transformed operand uses the first one or both.
std::vector<uint64_t> ring_primes(int log_n, NttKernel kernel) {
  return find_ntt_primes(ntt_max_prime_bits(kernel), log_n, 2);
}

int log2_degree(int64_t n, const char* what) {
  require(n >= 1024 && n <= 32768 && (n & (n - 1)) == 0,
          std::string(what) + ": degree N = " + std::to_string(n) +
              " is not a power of two in 2^10..2^15");
  int log_n = 0;
  while ((int64_t{1} << log_n) < n) ++log_n;
  return log_n;
}

NttKernel checked_kernel(NttKernel kernel, const char* what) {
  kernel = resolve_ntt_kernel(kernel);
  require(kernel != NttKernel::kIfma || ntt_ifma_available(),
          std::string(what) + ": the IFMA kernel needs AVX-512 IFMA, which this CPU lacks");
  return kernel;
}

// v: [n] signed values -> tr: [2][n], the forward transform modulo both primes.
template <class T>
void transform_signed(std::span<const T> v, NttKernel kernel, uint64_t* tr) {
  const int64_t n = static_cast<int64_t>(v.size());
  const int log_n = log2_degree(n, "ring product operand");
  kernel = checked_kernel(kernel, "ring product operand");
  AlignedWords words(n);
  for (int64_t i = 0; i < n; ++i) words[i] = static_cast<uint64_t>(int64_t{v[i]});
  for (int j = 0; j < 2; ++j)
    transform_operand(shared_ntt(ring_primes(log_n, kernel)[j], log_n, kernel).tables(),
                      words.data(), 8 * sizeof(T), tr + j * n);
}

}  // namespace

struct RingMultiplier::State {
  int64_t n = 0;
  int log_q = 0;
  NttKernel kernel = NttKernel::kPortable;
  std::vector<const Ntt*> ntts;     // one per prime, shared tables (public values)
  std::vector<AlignedWords> f_ntt;  // [primes][multiplicand_words] NTT(f)/N, kernel layout
  CrtLift lift;
  mutable ScratchPool pool;

  // fixed: [n] signed values with |f| <= 2^fixed_bits; operands up to 2^operand_bits.
  State(std::span<const int64_t> fixed, int log_n, int log_q_, int bound_bits, NttKernel kernel_)
      : n(int64_t{1} << log_n), log_q(log_q_), kernel(kernel_), pool(2 * (int64_t{1} << log_n)) {
    // |f·v| <= 2^bound_bits; the centered lift needs P > twice that.
    const std::vector<uint64_t> p = ring_primes(log_n, kernel);
    int primes = 0;
    if (bound_bits + 1 < 64 && p[0] > (uint64_t{1} << (bound_bits + 1)))
      primes = 1;
    else if (static_cast<long double>(p[0]) * static_cast<long double>(p[1]) >
             std::ldexp(1.0L, bound_bits + 1))
      primes = 2;
    require(primes > 0, "ring product: products of " + std::to_string(bound_bits) +
                            " bits need more than two NTT primes");
    for (int j = 0; j < primes; ++j) {
      const Ntt& ntt = *ntts.emplace_back(&shared_ntt(p[j], log_n, kernel));
      const int64_t pj = static_cast<int64_t>(p[j]);
      AlignedWords f_mod_p(n);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t r = fixed[i] % pj;
        f_mod_p[i] = static_cast<uint64_t>(r < 0 ? r + pj : r);
      }
      ntt.forward(f_mod_p.data());
      f_ntt.emplace_back(multiplicand_words(ntt.tables()));
      prepare_multiplicand(ntt.tables(), f_mod_p.data(), f_ntt[j].data());
    }
    lift = make_crt_lift(kernel, p[0], primes == 2 ? p[1] : 0);
  }
};

RingMultiplier::RingMultiplier(std::span<const uint64_t> fixed, int log_q, int operand_bits,
                               NttKernel kernel) {
  const int log_n = log2_degree(static_cast<int64_t>(fixed.size()), "ring product");
  require(log_q >= 2 && log_q <= 64 && operand_bits >= 0 && operand_bits < log_q,
          "ring product: log_q " + std::to_string(log_q) + " / operand bits " +
              std::to_string(operand_bits) + " out of range");
  kernel = checked_kernel(kernel, "ring product");
  std::vector<int64_t> f(fixed.size());  // centered: the top bit of log_q is the sign
  const int shift = 64 - log_q;
  for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<int64_t>(fixed[i] << shift) >> shift;
  state_ = std::make_unique<State>(f, log_n, log_q, log_n + log_q - 1 + operand_bits, kernel);
}

RingMultiplier::RingMultiplier(std::span<const int8_t> ternary, int log_q, NttKernel kernel) {
  const int log_n = log2_degree(static_cast<int64_t>(ternary.size()), "ternary ring product");
  require(log_q >= 1 && log_q <= 64,
          "ternary ring product: log_q must be in 1..64, got " + std::to_string(log_q));
  bool is_ternary = true;
  for (int8_t v : ternary) is_ternary &= v >= -1 && v <= 1;  // no early exit: same time for any
  require(is_ternary, "ternary ring product: the secret has a coefficient outside {-1, 0, 1}");
  kernel = checked_kernel(kernel, "ternary ring product");
  const std::vector<int64_t> f(ternary.begin(), ternary.end());
  state_ = std::make_unique<State>(f, log_n, log_q, log_n + log_q - 1, kernel);
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
NttKernel RingMultiplier::kernel() const {
  return state_->kernel;
}

void RingMultiplier::multiply(const uint64_t* v, uint64_t* out) const {
  const State& st = *state_;
  ScratchLease scratch(st.pool);
  const int last = prime_count() - 1;
  if (last == 1)
    product_residues(st.ntts[0]->tables(), v, st.log_q, st.f_ntt[0].data(), scratch.data());
  product_lifted(st.ntts[last]->tables(), v, st.log_q, st.f_ntt[last].data(), st.lift,
                 scratch.data(), scratch.data() + last * st.n, out);
}

void RingMultiplier::transform_operand(std::span<const int8_t> v, NttKernel kernel, uint64_t* tr) {
  transform_signed(v, kernel, tr);
}

void RingMultiplier::transform_operand(std::span<const int32_t> v, NttKernel kernel, uint64_t* tr) {
  transform_signed(v, kernel, tr);
}

void RingMultiplier::multiply_transformed(const uint64_t* tr, uint64_t* out) const {
  const State& st = *state_;
  ScratchLease scratch(st.pool);
  const int last = prime_count() - 1;
  if (last == 1)
    product_residues_transformed(st.ntts[0]->tables(), tr, st.f_ntt[0].data(), scratch.data());
  product_lifted_transformed(st.ntts[last]->tables(), tr + last * st.n, st.log_q,
                             st.f_ntt[last].data(), st.lift, scratch.data(),
                             scratch.data() + last * st.n, out);
}

}  // namespace cipherlora
