#include "he/ntt.h"

#include <sodium.h>

#include <algorithm>
#include <cassert>
#include <map>
#include <mutex>
#include <new>
#include <tuple>
#include <utility>

#include "common/error.h"
#include "he/ntt_kernels.h"

namespace cipherlora {

// ---- AlignedWords -------------------------------------------------------------------------------

AlignedWords::AlignedWords(int64_t n)
    : data_(static_cast<uint64_t*>(::operator new[](n * sizeof(uint64_t), std::align_val_t(64)))),
      size_(n) {
  std::fill_n(data_, n, 0);
}

AlignedWords::AlignedWords(AlignedWords&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AlignedWords& AlignedWords::operator=(AlignedWords&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void AlignedWords::release() {
  if (data_ == nullptr) return;
  sodium_memzero(data_, size_ * sizeof(uint64_t));  // not optimized away, unlike a plain fill
  ::operator delete[](data_, std::align_val_t(64));
  data_ = nullptr;
  size_ = 0;
}

// ---- primes -------------------------------------------------------------------------------------

uint64_t pow_mod(uint64_t base, uint64_t exp, uint64_t p) {
  uint64_t result = 1 % p;
  base %= p;
  for (; exp != 0; exp >>= 1) {
    if (exp & 1) result = mul_mod(result, base, p);
    base = mul_mod(base, base, p);
  }
  return result;
}

namespace {

// Miller–Rabin with the first twelve prime bases, which is exact for every n < 3.3·10^24.
bool is_prime(uint64_t n) {
  constexpr uint64_t kBases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  if (n < 2) return false;
  for (uint64_t b : kBases)
    if (n % b == 0) return n == b;
  uint64_t d = n - 1;
  int r = 0;
  for (; d % 2 == 0; d /= 2) ++r;
  for (uint64_t b : kBases) {
    uint64_t x = pow_mod(b, d, n);
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int i = 1; i < r && composite; ++i) {
      x = mul_mod(x, x, n);
      composite = x != n - 1;
    }
    if (composite) return false;
  }
  return true;
}

int64_t bit_reverse(int64_t k, int bits) {
  int64_t r = 0;
  for (int i = 0; i < bits; ++i) r |= ((k >> i) & 1) << (bits - 1 - i);
  return r;
}

// A primitive 2n-th root of unity: x^((p-1)/2n) has order exactly 2n when its n-th power is -1.
uint64_t primitive_root_2n(uint64_t p, int64_t n) {
  for (uint64_t x = 2;; ++x) {
    const uint64_t psi = pow_mod(x, (p - 1) / (2 * n), p);
    if (pow_mod(psi, n, p) == p - 1) return psi;
  }
}

uint64_t min_u64(uint64_t a, uint64_t b) {
  return a < b ? a : b;
}

// Shoup: w·y mod p in [0, 2p) for any y, with wq = floor(w·2^64 / p).
inline uint64_t mul_shoup(uint64_t y, uint64_t w, uint64_t wq, uint64_t p) {
  const uint64_t q = static_cast<uint64_t>((static_cast<unsigned __int128>(wq) * y) >> 64);
  return w * y - q * p;
}

// [0, 4p) -> [0, 4p), in place; input and output in the standard orders.
void forward_lazy(const NttTables& t, uint64_t* a) {
  const uint64_t p = t.p, p2 = 2 * p;
  for (int64_t m = 1, h = t.n / 2; m < t.n; m *= 2, h /= 2)
    for (int64_t i = 0; i < m; ++i) {
      const uint64_t w = t.fwd[m + i], wq = t.fwd_quot[m + i];
      uint64_t* x = a + 2 * i * h;
      uint64_t* y = x + h;
      for (int64_t j = 0; j < h; ++j) {
        const uint64_t u = min_u64(x[j], x[j] - p2);  // [0, 2p)
        const uint64_t v = mul_shoup(y[j], w, wq, p);
        x[j] = u + v;
        y[j] = u - v + p2;
      }
    }
}

// [0, 2p) -> [0, 2p), in place, without the 1/N.
void inverse_lazy(const NttTables& t, uint64_t* a) {
  const uint64_t p = t.p, p2 = 2 * p;
  for (int64_t m = t.n / 2, h = 1; m >= 1; m /= 2, h *= 2)
    for (int64_t i = 0; i < m; ++i) {
      const uint64_t w = t.inv[m + i], wq = t.inv_quot[m + i];
      uint64_t* x = a + 2 * i * h;
      uint64_t* y = x + h;
      for (int64_t j = 0; j < h; ++j) {
        const uint64_t u = x[j], v = y[j];
        x[j] = min_u64(u + v, u + v - p2);
        y[j] = mul_shoup(u - v + p2, w, wq, p);
      }
    }
}

// The two's complement value of the low log_q bits of a, mod p, in [0, 3p): the forward
// transform's input range.
struct SignedResidue {
  int shift;                     // 64 - log_q
  bool wide;                     // 2^(log_q-1) may exceed p: reduce with Barrett
  uint64_t p, barrett, neg_fix;  // neg_fix = p - 2^64 mod p, added for negative values

  SignedResidue(const NttTables& t, int log_q)
      : shift(64 - log_q),
        wide(log_q - 1 >= 63 || (uint64_t{1} << (log_q - 1)) > t.p),
        p(t.p),
        barrett(t.barrett),
        neg_fix(t.p - t.pow64) {}

  uint64_t operator()(uint64_t a) const {
    const int64_t x = static_cast<int64_t>(a << shift) >> shift;
    const uint64_t u = static_cast<uint64_t>(x);
    const uint64_t negative = 0 - (u >> 63);  // all ones when x < 0
    if (!wide) return u + (negative & p);     // |x| <= p
    const uint64_t q = static_cast<uint64_t>((static_cast<unsigned __int128>(u) * barrett) >> 64);
    return u - q * p + (negative & neg_fix);  // u mod p in [0, 2p), then -2^64
  }
};

}  // namespace

bool is_ntt_prime(uint64_t p, int log_n) {
  if (log_n < 0 || log_n > 62) return false;
  const uint64_t two_n = uint64_t{2} << log_n;
  return p % two_n == 1 && is_prime(p);
}

std::vector<uint64_t> find_ntt_primes(int bits, int log_n, int count) {
  require(bits >= 2 && bits <= 64,
          "NTT primes: bits must be in 2..64, got " + std::to_string(bits));
  require(log_n >= 1 && log_n <= bits - 2,
          "NTT primes: log_n must be in 1.." + std::to_string(bits - 2) + " for " +
              std::to_string(bits) + "-bit primes, got " + std::to_string(log_n));
  require(count >= 0, "NTT primes: negative count " + std::to_string(count));
  const uint64_t step = uint64_t{2} << log_n;
  const uint64_t top = bits == 64 ? 0 : uint64_t{1} << bits;  // 2^bits, wrapping at 64
  std::vector<uint64_t> primes;
  // Candidates 1 + k·step below 2^bits, largest first; 2^bits is a multiple of step.
  for (uint64_t p = top - step + 1; p > step && static_cast<int>(primes.size()) < count; p -= step)
    if (is_prime(p)) primes.push_back(p);
  require(static_cast<int>(primes.size()) == count,
          "NTT primes: only " + std::to_string(primes.size()) + " primes below 2^" +
              std::to_string(bits) + " are 1 mod 2^" + std::to_string(log_n + 1) + ", asked for " +
              std::to_string(count));
  return primes;
}

// ---- kernels ------------------------------------------------------------------------------------

bool ntt_ifma_available() {
  static const bool available = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512ifma");
  }();
  return available;
}

NttKernel resolve_ntt_kernel(NttKernel kernel) {
  if (kernel != NttKernel::kBest) return kernel;
  return ntt_ifma_available() ? NttKernel::kIfma : NttKernel::kPortable;
}

int ntt_max_prime_bits(NttKernel kernel) {
  return resolve_ntt_kernel(kernel) == NttKernel::kIfma ? 50 : 62;
}

std::string ntt_kernel_name(NttKernel kernel) {
  return resolve_ntt_kernel(kernel) == NttKernel::kIfma ? "AVX-512 IFMA (52-bit lanes)"
                                                        : "portable (scalar, 64-bit Shoup)";
}

void portable_forward(const NttTables& t, uint64_t* a) {
  forward_lazy(t, a);
  const uint64_t p = t.p;
  for (int64_t i = 0; i < t.n; ++i) {
    const uint64_t x = min_u64(a[i], a[i] - 2 * p);
    a[i] = min_u64(x, x - p);
  }
}

void portable_inverse(const NttTables& t, uint64_t* a) {
  inverse_lazy(t, a);
  const uint64_t p = t.p;
  for (int64_t i = 0; i < t.n; ++i) {
    const uint64_t x = mul_shoup(a[i], t.n_inv, t.n_inv_quot, p);
    a[i] = min_u64(x, x - p);
  }
}

// The portable product in its two halves: the operand's residues transformed (lazy, [0, 4p)),
// then the pointwise product by mult and the inverse; res may be tr.
static void portable_transform_operand(const NttTables& t, const uint64_t* a, int log_q,
                                       uint64_t* tr) {
  const SignedResidue residue(t, log_q);
  for (int64_t i = 0; i < t.n; ++i) tr[i] = residue(a[i]);
  forward_lazy(t, tr);
}

static void portable_product_from_transformed(const NttTables& t, const uint64_t* tr,
                                              const uint64_t* mult, uint64_t* res) {
  for (int64_t i = 0; i < t.n; ++i) res[i] = mul_shoup(tr[i], mult[i], mult[t.n + i], t.p);
  inverse_lazy(t, res);
  for (int64_t i = 0; i < t.n; ++i) res[i] = min_u64(res[i], res[i] - t.p);
}

void portable_product_residues(const NttTables& t, const uint64_t* a, int log_q,
                               const uint64_t* mult, uint64_t* res) {
  portable_transform_operand(t, a, log_q, res);
  portable_product_from_transformed(t, res, mult, res);
}

void transform_operand(const NttTables& t, const uint64_t* a, int log_q, uint64_t* tr) {
  if (t.kernel == NttKernel::kIfma) return ifma_transform_operand(t, a, log_q, tr);
  portable_transform_operand(t, a, log_q, tr);
}

void product_residues_transformed(const NttTables& t, const uint64_t* tr, const uint64_t* mult,
                                  uint64_t* res) {
  if (t.kernel == NttKernel::kIfma) return ifma_product_residues_transformed(t, tr, mult, res);
  portable_product_from_transformed(t, tr, mult, res);
}

void product_lifted_transformed(const NttTables& t, const uint64_t* tr, int log_q,
                                const uint64_t* mult, const CrtLift& lift, const uint64_t* r1,
                                uint64_t* work, uint64_t* out) {
  if (t.kernel == NttKernel::kIfma)
    return ifma_product_lifted_transformed(t, tr, log_q, mult, lift, r1, work, out);
  product_residues_transformed(t, tr, mult, work);
  portable_lift_centered(lift, lift.primes == 1 ? work : r1, work, t.n, log_q, out);
}

void product_residues(const NttTables& t, const uint64_t* a, int log_q, const uint64_t* mult,
                      uint64_t* res) {
  assert(log_q >= 1 && log_q <= 64);
  if (t.kernel == NttKernel::kIfma)
    ifma_product_residues(t, a, log_q, mult, res);
  else
    portable_product_residues(t, a, log_q, mult, res);
}

int64_t multiplicand_words(const NttTables& t) {
  return t.kernel == NttKernel::kIfma ? 4 * t.n : 2 * t.n;
}

void prepare_multiplicand(const NttTables& t, const uint64_t* b, uint64_t* mult) {
  if (t.kernel == NttKernel::kIfma) return ifma_prepare_multiplicand(t, b, mult);
  for (int64_t i = 0; i < t.n; ++i) {
    mult[i] = mul_mod(b[i], t.n_inv, t.p);
    mult[t.n + i] = shoup_quotient(mult[i], t.p, t.shoup_bits);
  }
}

// ---- CRT ----------------------------------------------------------------------------------------

CrtLift make_crt_lift(NttKernel kernel, uint64_t p1, uint64_t p2) {
  CrtLift lift;
  lift.p1 = p1;
  if (p2 == 0) return lift;
  assert(p1 > p2 && p1 < 2 * p2);
  lift.primes = 2;
  lift.p2 = p2;
  lift.p1_inv = pow_mod(p1 % p2, p2 - 2, p2);
  lift.p1_inv_quot = shoup_quotient(lift.p1_inv, p2, kernel == NttKernel::kIfma ? 52 : 64);
  lift.product = p1 * p2;
  return lift;
}

void portable_lift_centered(const CrtLift& lift, const uint64_t* r1, const uint64_t* r2, int64_t n,
                            int log_q, uint64_t* out) {
  const uint64_t mask = log_q == 64 ? ~uint64_t{0} : (uint64_t{1} << log_q) - 1;
  const uint64_t p1 = lift.p1, half1 = p1 / 2;
  if (lift.primes == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = (r1[i] - (r1[i] > half1 ? p1 : 0)) & mask;
    return;
  }
  const uint64_t p2 = lift.p2, half2 = p2 / 2;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t d = r2[i] + p2 - min_u64(r1[i], r1[i] - p2);  // (0, 2p2)
    uint64_t v = mul_shoup(d, lift.p1_inv, lift.p1_inv_quot, p2);
    v = min_u64(v, v - p2);
    // c = r1 + p1·v exceeds (P-1)/2 = p1·half2 + half1 exactly when (v, r1) > (half2, half1).
    const bool negative = v > half2 || (v == half2 && r1[i] > half1);
    out[i] = (r1[i] + p1 * v - (negative ? lift.product : 0)) & mask;
  }
}

void product_lifted(const NttTables& t, const uint64_t* a, int log_q, const uint64_t* mult,
                    const CrtLift& lift, const uint64_t* r1, uint64_t* work, uint64_t* out) {
  assert(log_q >= 1 && log_q <= 64 && t.p == (lift.primes == 1 ? lift.p1 : lift.p2));
  if (t.kernel == NttKernel::kIfma) {
    ifma_product_lifted(t, a, log_q, mult, lift, r1, work, out);
  } else {
    portable_product_residues(t, a, log_q, mult, work);
    portable_lift_centered(lift, lift.primes == 1 ? work : r1, work, t.n, log_q, out);
  }
}

void lift_centered(NttKernel kernel, const CrtLift& lift, const uint64_t* r1, const uint64_t* r2,
                   int64_t n, int log_q, uint64_t* out) {
  if (kernel == NttKernel::kIfma)
    ifma_lift_centered(lift, r1, r2, n, log_q, out);
  else
    portable_lift_centered(lift, r1, r2, n, log_q, out);
}

// ---- Ntt ----------------------------------------------------------------------------------------

Ntt::Ntt(uint64_t p, int log_n, NttKernel kernel) : tables_(std::make_unique<NttTables>()) {
  require(log_n >= 10 && log_n <= 15, "NTT: log_n must be in 10..15, got " + std::to_string(log_n));
  require(is_ntt_prime(p, log_n), "NTT: modulus " + std::to_string(p) +
                                      " is not a prime that is 1 mod 2N for N = 2^" +
                                      std::to_string(log_n));
  require(kernel != NttKernel::kIfma || ntt_ifma_available(),
          "NTT: the IFMA kernel needs AVX-512 IFMA, which this CPU lacks");
  if (kernel == NttKernel::kBest)
    kernel =
        ntt_ifma_available() && p < (uint64_t{1} << 50) ? NttKernel::kIfma : NttKernel::kPortable;
  const int max_bits = ntt_max_prime_bits(kernel);
  require(p < (uint64_t{1} << max_bits), "NTT: modulus " + std::to_string(p) + " is not below 2^" +
                                             std::to_string(max_bits) + " as the " +
                                             ntt_kernel_name(kernel) + " kernel needs");
  NttTables& t = *tables_;
  t.p = p;
  t.log_n = log_n;
  t.n = int64_t{1} << log_n;
  t.kernel = kernel;
  t.shoup_bits = kernel == NttKernel::kIfma ? 52 : 64;
  t.fwd = AlignedWords(t.n);
  t.fwd_quot = AlignedWords(t.n);
  t.inv = AlignedWords(t.n);
  t.inv_quot = AlignedWords(t.n);
  const uint64_t psi = primitive_root_2n(p, t.n), psi_inv = pow_mod(psi, 2 * t.n - 1, p);
  uint64_t power = 1, power_inv = 1;
  for (int64_t i = 0; i < t.n; ++i) {
    const int64_t k = bit_reverse(i, log_n);
    t.fwd[k] = power;
    t.inv[k] = power_inv;
    t.fwd_quot[k] = shoup_quotient(power, p, t.shoup_bits);
    t.inv_quot[k] = shoup_quotient(power_inv, p, t.shoup_bits);
    power = mul_mod(power, psi, p);
    power_inv = mul_mod(power_inv, psi_inv, p);
  }
  t.n_inv = pow_mod(static_cast<uint64_t>(t.n), p - 2, p);
  t.n_inv_quot = shoup_quotient(t.n_inv, p, t.shoup_bits);
  t.inv_last = mul_mod(t.inv[1], t.n_inv, p);
  t.inv_last_quot = shoup_quotient(t.inv_last, p, t.shoup_bits);
  t.barrett = ~uint64_t{0} / p;  // = floor(2^64 / p): p is odd
  t.pow64 = (~uint64_t{0} % p + 1) % p;
  t.pow63 = (uint64_t{1} << 63) % p;
  t.pow32 = (uint64_t{1} << 32) % p;
  t.pow32_quot = shoup_quotient(t.pow32, p, t.shoup_bits);
  if (kernel == NttKernel::kIfma) ifma_permute_tables(t);
}

Ntt::~Ntt() = default;
Ntt::Ntt(Ntt&&) noexcept = default;
Ntt& Ntt::operator=(Ntt&&) noexcept = default;

uint64_t Ntt::modulus() const {
  return tables_->p;
}
int64_t Ntt::size() const {
  return tables_->n;
}
int Ntt::log_size() const {
  return tables_->log_n;
}
NttKernel Ntt::kernel() const {
  return tables_->kernel;
}

void Ntt::forward(uint64_t* a) const {
  if (tables_->kernel == NttKernel::kIfma)
    ifma_forward(*tables_, a);
  else
    portable_forward(*tables_, a);
}

void Ntt::inverse(uint64_t* a) const {
  if (tables_->kernel == NttKernel::kIfma)
    ifma_inverse(*tables_, a);
  else
    portable_inverse(*tables_, a);
}

// Not on the ring product's path (that multiplies by a fixed operand with Shoup quotients), so
// a plain 128-bit remainder.
void Ntt::multiply(const uint64_t* a, const uint64_t* b, uint64_t* out) const {
  for (int64_t i = 0; i < tables_->n; ++i) out[i] = mul_mod(a[i], b[i], tables_->p);
}

const Ntt& shared_ntt(uint64_t p, int log_n, NttKernel kernel) {
  static std::mutex mutex;
  static std::map<std::tuple<uint64_t, int, NttKernel>, std::unique_ptr<Ntt>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<Ntt>& ntt = cache[{p, log_n, kernel}];
  if (!ntt) ntt = std::make_unique<Ntt>(p, log_n, kernel);
  return *ntt;
}

}  // namespace cipherlora
