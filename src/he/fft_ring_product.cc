#include "he/fft_ring_product.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "he/negacyclic_fft.h"
#include "he/scratch_pool.h"
#include "tensor/vector_clones.h"

namespace cipherlora {
namespace {

int log2_degree(int64_t n) {
  require(
      n >= 1024 && n <= 32768 && (n & (n - 1)) == 0,
      "FFT ring product: degree N = " + std::to_string(n) + " is not a power of two in 2^10..2^15");
  int log_n = 0;
  while ((int64_t{1} << log_n) < n) ++log_n;
  return log_n;
}

// acc[j] (= or +=) round_limb(c[j]) · 2^offset mod 2^64, c [n] within 2^62 of zero.
CIPHERLORA_VECTOR_CLONES void accumulate_rounded(const double* c, int64_t n, int offset, bool first,
                                                 uint64_t* acc) {
  for (int64_t j = 0; j < n; ++j)
    acc[j] = (first ? 0 : acc[j]) + (static_cast<uint64_t>(round_limb(c[j])) << offset);
}

// v [N] signed -> tr [N] transformed.
template <class T>
void transform_signed(std::span<const T> v, double* tr) {
  NegacyclicFft::shared(log2_degree(static_cast<int64_t>(v.size()))).forward_from(v, tr);
}

}  // namespace

struct FftRingMultiplier::State {
  int64_t n = 0;  // N
  int log_q = 0;
  bool exact = true;
  const NegacyclicFft* fft = nullptr;
  std::vector<int> offsets;                  // limb l is scaled by 2^offsets[l]
  std::vector<AlignedBuffer<double>> limbs;  // [limbs][N] transformed limbs, re then im
  mutable ScratchPool pool;  // per product: the last two limbs' products, a transformed operand

  explicit State(int64_t words) : pool(words) {}
};

FftRingMultiplier::FftRingMultiplier(std::span<const uint64_t> fixed, int log_q, double operand_l2,
                                     double tolerance) {
  const int64_t n = static_cast<int64_t>(fixed.size());
  const int log_n = log2_degree(n);
  require(log_q >= 2 && log_q <= 64,
          "FFT ring product: log_q must be in 2..64, got " + std::to_string(log_q));
  require(operand_l2 >= 1 && tolerance >= 0,
          "FFT ring product: the operand bound must be >= 1 and the tolerance >= 0");
  const double root_n = std::sqrt(static_cast<double>(n));

  // A limb whose digits are below 2^w in magnitude has ‖f_l‖₂ <= √N·2^w, so its product's error is
  // at most √N·2^w·V·kFftErrorBound and its coefficients at most √N·2^w·V (V = operand_l2).
  // Exact limbs: error < 1/4 and coefficients < 2^51. Their digits are centred, within 2^(w−1),
  // but the top limb can exceed that by one, hence the bound at 2^w.
  const double scale = root_n * operand_l2;
  const int exact_bits = static_cast<int>(
      std::floor(std::log2(std::min(0.25 / (scale * kFftErrorBound), 0x1p51 / scale))));
  require(exact_bits >= 1, "FFT ring product: operands of norm " + std::to_string(operand_l2) +
                               " are too large for exact products");
  // The approximate lowest limb (tolerance > 0): a centred digit within 2^(w−1), error up to
  // √N·2^(w−1)·V·kFftErrorBound + 1/2 from rounding, coefficients below 2^62.
  int bottom_bits = exact_bits;
  bool bottom_exact = true;
  if (tolerance > 0) {
    const double room = (tolerance - 0.5) / (scale * kFftErrorBound);
    if (room >= 1) {
      const int approx_bits =
          1 + static_cast<int>(std::floor(std::log2(std::min(room, 0x1p62 / scale))));
      if (approx_bits > exact_bits) {
        bottom_bits = approx_bits;
        bottom_exact = false;
      }
    }
  }
  int limb_count = 1;
  if (bottom_bits < log_q) limb_count += (log_q - bottom_bits + exact_bits - 1) / exact_bits;

  state_ = std::make_unique<State>(3 * n);
  State& st = *state_;
  st.n = n;
  st.log_q = log_q;
  st.exact = bottom_exact;
  st.fft = &NegacyclicFft::shared(log_n);
  // The balanced digits of each coefficient, limb by limb into the limbs' buffers, which are
  // then transformed in place.
  for (int l = 0, offset = 0; l < limb_count; ++l) {
    st.offsets.push_back(offset);
    offset += l == 0 ? bottom_bits : exact_bits;
    st.limbs.emplace_back(n);
  }
  const int shift = 64 - log_q;
  for (int64_t j = 0; j < n; ++j) {
    __int128 r = static_cast<int64_t>(fixed[j] << shift) >> shift;  // centred
    for (int l = 0; l + 1 < limb_count; ++l) {
      const int w = st.offsets[l + 1] - st.offsets[l];
      const __int128 half = __int128{1} << (w - 1), mask = (__int128{1} << w) - 1;
      const __int128 d = ((r + half) & mask) - half;
      st.limbs[l].data()[j] = static_cast<double>(static_cast<int64_t>(d));
      r = (r - d) >> w;
    }
    st.limbs[limb_count - 1].data()[j] = static_cast<double>(static_cast<int64_t>(r));
  }
  for (AlignedBuffer<double>& limb : st.limbs) st.fft->forward(limb.data(), limb.data() + n / 2);
}

FftRingMultiplier::~FftRingMultiplier() = default;
FftRingMultiplier::FftRingMultiplier(FftRingMultiplier&&) noexcept = default;
FftRingMultiplier& FftRingMultiplier::operator=(FftRingMultiplier&&) noexcept = default;

int64_t FftRingMultiplier::degree() const {
  return state_->n;
}
int FftRingMultiplier::limbs() const {
  return static_cast<int>(state_->limbs.size());
}
bool FftRingMultiplier::exact() const {
  return state_->exact;
}

void FftRingMultiplier::transform_operand(std::span<const int8_t> v, double* tr) {
  transform_signed(v, tr);
}

void FftRingMultiplier::transform_operand(std::span<const int32_t> v, double* tr) {
  transform_signed(v, tr);
}

// The reduction callers without a pass of their own get: the last limb summed in, then mod 2^log_q.
FftRingMultiplier::LastLimb FftRingMultiplier::summing(Reduce reduce) const {
  const int64_t n = state_->n;
  const int log_q = reduce == Reduce::kModQ ? state_->log_q : 64;
  const uint64_t q_mask = log_q < 64 ? (uint64_t{1} << log_q) - 1 : ~uint64_t{0};
  return [n, q_mask](const LimbSum& sum, uint64_t* out) {
    for (int64_t j = 0; j < n; ++j) out[j] = sum.at(j) & q_mask;
  };
}

// prods [2N]: scratch for the limbs' products. All but the last two are summed into out here; the
// last two are left to `last`, which rounds them as it reads them.
void FftRingMultiplier::sum_limbs(const double* tr, double* prods, uint64_t* out,
                                  const LastLimb& last) const {
  const State& st = *state_;
  const size_t limbs = st.limbs.size();
  for (size_t l = 0; l + 2 < limbs; ++l) {
    st.fft->inverse_of_product(tr, st.limbs[l].data(), prods);
    accumulate_rounded(prods, st.n, st.offsets[l], l == 0, out);
  }
  LimbSum sum;
  if (limbs >= 2) {
    st.fft->inverse_of_product(tr, st.limbs[limbs - 2].data(), prods);
    sum.prev = prods;
    sum.prev_offset = st.offsets[limbs - 2];
  }
  st.fft->inverse_of_product(tr, st.limbs[limbs - 1].data(), prods + st.n);
  sum.prod = prods + st.n;
  sum.offset = st.offsets[limbs - 1];
  sum.lower = limbs >= 3 ? out : nullptr;
  last(sum, out);
}

void FftRingMultiplier::multiply(std::span<const int32_t> v, uint64_t* out, Reduce reduce) const {
  multiply_signed(v, out, summing(reduce));
}

void FftRingMultiplier::multiply(std::span<const int16_t> v, uint64_t* out, Reduce reduce) const {
  multiply_signed(v, out, summing(reduce));
}

void FftRingMultiplier::multiply_transformed(const double* tr, uint64_t* out, Reduce reduce) const {
  multiply_transformed(tr, out, summing(reduce));
}

void FftRingMultiplier::multiply_transformed(const double* tr, uint64_t* out,
                                             const LastLimb& last) const {
  ScratchLease scratch(state_->pool);
  sum_limbs(tr, scratch.data(), out, last);
}

void FftRingMultiplier::multiply(std::span<const int32_t> v, uint64_t* out,
                                 const LastLimb& last) const {
  multiply_signed(v, out, last);
}

void FftRingMultiplier::multiply(std::span<const int16_t> v, uint64_t* out,
                                 const LastLimb& last) const {
  multiply_signed(v, out, last);
}

// One lease for both the operand's transform and the limbs' products.
template <class T>
void FftRingMultiplier::multiply_signed(std::span<const T> v, uint64_t* out,
                                        const LastLimb& last) const {
  ScratchLease scratch(state_->pool);
  double* tr = scratch.data() + 2 * state_->n;
  transform_signed(v, tr);
  sum_limbs(tr, scratch.data(), out, last);
}

}  // namespace cipherlora
